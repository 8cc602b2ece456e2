"""Line formats mapped in SQL (nginx, Envoy): blocks of lines in, native event rows out.

Such a format is ONE module holding its line pattern once (an RE2 regular expression DuckDB
runs; Python's ``re`` reads the same text to sniff a file) and its mapping as SQL statements
over a block of lines (``map_blocks``). That mapping is the format's only parse path: the
importer inserts its Arrow blocks as they come, and :func:`sql_parser` gives the same rows to
whoever wants them one by one (:attr:`~analyzer.importers.formats.base.Format.parse`: tests,
tools). Golden fixtures (``tests/formats/golden/``: input lines -> expected rows and
rejections) are the oracle, as the replay's relation fixtures are for the replay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import duckdb
import pyarrow as pa

from analyzer.importers.formats.base import (
    ROW_KEYS,
    BlockMapper,
    Item,
    ParseContext,
    Parser,
    Rejected,
)

BLOCK_LINES = 50_000


def line_blocks(lines: Iterable[str], first_line: int) -> Iterator[pa.Table]:
    """Arrow tables (line_no, line) of ``BLOCK_LINES`` lines each, line endings removed."""
    it = iter(lines)
    number = first_line
    while True:
        block = [line.rstrip("\r\n") for line in islice(it, BLOCK_LINES)]
        if not block:
            return
        yield pa.table(
            {
                "line_no": pa.array(range(number, number + len(block)), pa.int64()),
                "line": pa.array(block, pa.string()),
            }
        )
        number += len(block)


Rejections = list[tuple[int, str, str]]
BlockSteps = Callable[[duckdb.DuckDBPyConnection, str], tuple[pa.Table, Rejections]]
"""``(con, file_name)`` -> (mapped rows, rejected (line_no, raw, reason)) of the block of lines
registered as the format's lines table."""


def block_mapper(lines_table: str, temps: tuple[str, ...], steps: BlockSteps) -> BlockMapper:
    """A format's ``map_blocks``: each block of lines registered as ``lines_table``, mapped by
    ``steps``, then the block and the ``temps`` tables the steps made are dropped."""

    def map_blocks(
        con: duckdb.DuckDBPyConnection, lines: Iterable[str], *, first_line: int, file_name: str
    ) -> Iterator[tuple[pa.Table, Rejections]]:
        for block in line_blocks(lines, first_line):
            con.register(lines_table, block)
            try:
                rows, bad = steps(con, file_name)
            finally:
                con.unregister(lines_table)
                for table in temps:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
            yield rows, bad

    return map_blocks


def sql_parser(map_blocks: BlockMapper) -> Parser:
    """The format's SQL mapping as a :data:`~analyzer.importers.formats.base.Parser`: each
    block mapped in an in-memory DuckDB, its rows as row dicts (every native column, ``extra``
    as a dict), then its rejections."""

    def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        try:
            for table, bad in map_blocks(
                con, lines, first_line=ctx.first_line, file_name=ctx.path.name
            ):
                for mapped in table.to_pylist():
                    row = dict.fromkeys(ROW_KEYS) | mapped
                    if isinstance(row["extra"], str):
                        row["extra"] = json.loads(row["extra"])
                    yield row
                yield from (Rejected(*b) for b in bad)
        finally:
            con.close()

    return parse
