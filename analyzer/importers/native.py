"""The native format (JSON Lines of ``analyzer.events``): the fast, lossless importer.

The file is streamed in blocks of whole lines (:mod:`.lines`); each block goes through one
SQL statement (:mod:`.native_sql`) that redacts secrets, parses every line's JSON once,
type-checks and casts every known field and works out why a bad line is bad; two more
statements move the good rows into ``events`` and the bad ones into ``rejected``. Nothing
is materialised per line in Python, and memory is bounded by the block size, whatever the
file size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from analyzer.importers import native_sql
from analyzer.importers.lines import LineReader
from analyzer.importers.paths import READ_ERRORS, is_compressed, open_binary
from analyzer.importers.summary import FIRST_REASONS, FileResult, RejectedLine
from analyzer.store import MAX_RAW_CHARS, next_event_id

if TYPE_CHECKING:
    from analyzer.importers.registry import ImportContext

NAME = "native"
BATCH_ROWS = 32_768
DESCRIPTION = "analyzer's native event log: JSON Lines with ts, source, event (docs/log-format.md)"


def sniff(head: bytes, path: Path) -> bool:
    """A native log: a JSON object line holding ``ts``, ``source`` and ``event`` keys."""
    text = head.decode("utf-8", errors="replace")
    for line in text.splitlines()[:20]:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("{") and all(
            f'"{k}"' in stripped for k in ("ts", "source", "event")
        ):
            return True
    return False


def import_file(con: duckdb.DuckDBPyConnection, path: Path, ctx: ImportContext) -> FileResult:
    """Import the lines of ``path`` that ``ctx.plan`` says are new; return the counts."""
    started = time.perf_counter()
    plan = ctx.plan
    result = FileResult(
        path=str(path),
        format=NAME,
        status=plan.status,
        import_id=ctx.import_id,
        first_line=plan.first_line,
    )
    compressed = is_compressed(path)
    id_base = next_event_id(con) - plan.first_line
    params = {"file": str(path), "import_id": ctx.import_id}
    stream = open_binary(path)
    try:
        if not compressed and plan.offset:
            stream.seek(plan.offset)
        reader = LineReader(
            stream,
            first_line=1 if compressed else plan.first_line,
            limit=None if compressed else plan.size - plan.offset,
            hasher=None if compressed else plan.hasher,
        )
        for chunk in reader.chunks():
            table = chunk.table
            if compressed and chunk.first_line + chunk.count <= plan.first_line:
                continue  # lines imported before (an appended compressed file)
            if compressed and chunk.first_line < plan.first_line:
                table = table.slice(plan.first_line - chunk.first_line)
            _import_chunk(con, table, params, id_base, result)
            if ctx.progress is not None:
                ctx.progress.advance(chunk.nbytes if not compressed else 0)
        end_line = (1 if compressed else plan.first_line) + reader.lines_read - 1
        _finish_counts(con, result, ctx.import_id)
    except READ_ERRORS as exc:
        from analyzer.errors import InputUnreadableError

        raise InputUnreadableError(f"cannot read {path}: {exc}") from None
    finally:
        stream.close()
    result.lines = max(0, end_line - plan.first_line + 1)
    result.bytes_read = reader.bytes_read
    if compressed:
        ctx.content_hash = plan.content_hash or ""
    else:
        assert plan.hasher is not None
        ctx.content_hash = plan.hasher.hexdigest()
    result.seconds = time.perf_counter() - started
    return result


def _import_chunk(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    params: dict[str, object],
    id_base: int,
    result: FileResult,
) -> None:
    if len(table) == 0:
        return
    # several record batches let DuckDB spread the chunk over its threads
    table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS))
    con.register("chunk_lines", table)
    try:
        rows = con.execute(
            native_sql.insert_events_sql(), {**params, "id_base": id_base}
        ).fetchall()
        good = int(rows[0][0]) if rows else 0
        bad = len(table) - good
        if bad:
            con.execute(native_sql.insert_rejected_sql(), {**params, "max_raw": MAX_RAW_CHARS})
    finally:
        con.unregister("chunk_lines")
    result.events += good
    result.rejected += bad


def _finish_counts(con: duckdb.DuckDBPyConnection, result: FileResult, import_id: int) -> None:
    naive, unknown = con.execute(native_sql.COUNTS_SQL, {"import_id": import_id}).fetchall()[0]
    result.naive_timestamps = int(naive or 0)
    result.unknown_events = int(unknown or 0)
    if result.rejected:
        rows = con.execute(
            native_sql.FIRST_REJECTED_SQL, {"import_id": import_id, "n": FIRST_REASONS}
        ).fetchall()
        result.first_rejected = [RejectedLine(result.path, int(n), str(r)) for n, r in rows]
