"""Shared helpers of the format tests: parse a file with one format, pick rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.importers.formats import FOREIGN_FORMATS
from analyzer.importers.formats.base import ParseContext, Rejected, Row, Skipped

FIXTURES = Path(__file__).parent / "fixtures"
BY_NAME = {f.name: f for f in FOREIGN_FORMATS}


def parse_file(name: str, path: Path) -> tuple[list[Row], list[Rejected]]:
    """Every mapped row and every rejection of ``path`` read as format ``name``."""
    rows: list[Row] = []
    rejected: list[Rejected] = []
    with path.open(encoding="utf-8") as fh:
        for item in BY_NAME[name].parse(fh, ParseContext(path)):
            if isinstance(item, Rejected):
                rejected.append(item)
            elif not isinstance(item, Skipped):
                rows.append(item)
    return rows, rejected


def pick(rows: list[Row], **where: Any) -> list[Row]:
    """Rows whose fields equal every ``where`` value."""
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def load_rows(con: Any, rows: list[Row], origin: str, file: str) -> None:
    """Insert mapped rows into ``events`` (test stand-in for the importer's insert helper)."""
    import json

    import pandas as pd

    from analyzer.store import next_event_id, quote_identifier

    first = next_event_id(con)
    records = []
    for offset, row in enumerate(rows):
        record = dict(row)
        record["extra"] = json.dumps(record["extra"], default=str) if record["extra"] else None
        record.update(event_id=first + offset, origin=origin, file=file, import_id=1)
        records.append(record)
    frame = pd.DataFrame.from_records(records)  # noqa: F841 - read by DuckDB below
    columns = ", ".join(quote_identifier(c) for c in records[0])
    con.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM frame")


def sql_vs_python(
    path: Path, name: str = "nginx"
) -> tuple[list[list[tuple[Any, ...]]], list[list[tuple[Any, ...]]]]:
    """Rows and rejections of an access log from the SQL mapping and the Python reference."""
    import duckdb

    map_blocks = BY_NAME[name].map_blocks
    assert map_blocks is not None

    keys = (
        "line_no",
        "event",
        "request_id",
        "endpoint",
        "app",
        "runner_id",
        "attempt",
        "status",
        "error_type",
        "ts",
        "ts_naive",
        "inferred",
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql_rows: list[tuple[Any, ...]] = []
    sql_bad: list[tuple[Any, ...]] = []
    with path.open(encoding="utf-8") as fh:
        for table, bad in map_blocks(con, fh, first_line=1, file_name=path.name):
            sql_rows += [_key(r, keys) for r in table.to_pylist()]
            sql_bad += bad
    con.close()
    rows, rejected = parse_file(name, path)
    py_rows = [_key(r, keys) for r in rows]
    return [sorted(sql_rows, key=repr), sorted(sql_bad)], [
        sorted(py_rows, key=repr),
        sorted((r.line_no, r.raw, r.reason) for r in rejected),
    ]


def _key(row: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """The compared fields of a row, the time as a UTC ISO string (tz objects differ)."""
    return tuple(row["ts"].timestamp() if k == "ts" else row.get(k) for k in keys)
