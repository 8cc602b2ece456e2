"""The native format (JSON Lines of ``analyzer.events``): the fast, lossless importer.

The file is streamed in blocks of whole lines (:mod:`.lines`, in a read-ahead thread);
batches of lines go through one INSERT (:mod:`.native_sql`) that redacts secrets, parses
every line's JSON once, type-checks and casts every known field and keeps the good lines;
only a batch that had bad lines runs a second statement that stores them in ``rejected``
with their reason. Nothing is materialised per line in Python. Batches are whole DuckDB row
groups, and the import commits its progress every few blocks, so memory stays bounded
whatever the file size (docs/performance.md explains the measurements behind these choices).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Full, Queue
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.errors import InputUnreadableError
from analyzer.importers import native_sql
from analyzer.importers.lines import CHUNK_BYTES, LineChunk, LineReader, empty_lines
from analyzer.importers.paths import READ_ERRORS, is_compressed, open_binary
from analyzer.importers.summary import FIRST_REASONS, FileResult, RejectedLine
from analyzer.store import MAX_RAW_CHARS, next_event_id

if TYPE_CHECKING:
    from analyzer.importers.registry import ImportContext

NAME = "native"
BATCH_ROWS = 32_768  # rows per Arrow record batch: DuckDB scans batches in parallel
ROW_GROUP = 122_880  # DuckDB's row group size
INSERT_ROWS = 2 * ROW_GROUP  # rows per INSERT: whole row groups (see _Pending)
COMMIT_EVERY_CHUNKS = 6  # commit every ~200 MB of input: DuckDB holds uncommitted rows in memory
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
    pending = _Pending()
    try:
        if not compressed and plan.offset:
            stream.seek(plan.offset)
        reader = LineReader(
            stream,
            first_line=1 if compressed else plan.first_line,
            limit=None if compressed else plan.size - plan.offset,
            hasher=None if compressed else plan.hasher,
            chunk_bytes=CHUNK_BYTES,
        )
        for n, chunk in enumerate(read_ahead(reader.chunks()), 1):
            table = chunk.table
            if compressed and chunk.first_line < plan.first_line:  # imported before
                table = table.filter(pc.greater_equal(table["line_no"], plan.first_line))
            pending.add(table)
            while pending.rows >= INSERT_ROWS:
                _import_chunk(con, pending.take(INSERT_ROWS), params, id_base, result)
            if ctx.checkpoint is not None and n % COMMIT_EVERY_CHUNKS == 0:
                _import_chunk(con, pending.take(pending.rows), params, id_base, result)
                result.lines = chunk.first_line + chunk.count - plan.first_line
                if compressed:  # progress in a compressed stream cannot be resumed
                    ctx.checkpoint(result, plan.size, "partial")
                else:
                    assert chunk.hash_state is not None
                    size = plan.offset + chunk.end_offset
                    ctx.checkpoint(result, size, chunk.hash_state.hexdigest())
            if ctx.progress is not None:
                ctx.progress.advance(chunk.nbytes if not compressed else 0)
        _import_chunk(con, pending.take(pending.rows), params, id_base, result)
        end_line = (1 if compressed else plan.first_line) + reader.lines_read - 1
        _finish_counts(con, result, ctx.import_id)
    except READ_ERRORS as exc:
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


class _Pending:
    """Lines read but not inserted yet, so that inserts come in whole row groups.

    DuckDB writes an INSERT of whole row groups (122,880 rows) straight into the database
    file; a partial row group goes through the write-ahead log and is rewritten at the next
    checkpoint, which costs about a third more. So lines are inserted in multiples of it.
    """

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        if len(table):
            self.tables.append(table)
            self.rows += len(table)

    def take(self, n: int) -> pa.Table:
        if not self.tables:
            return empty_lines()
        whole = self.tables[0] if len(self.tables) == 1 else pa.concat_tables(self.tables)
        head, rest = whole.slice(0, n), whole.slice(n)
        self.tables = [rest] if len(rest) else []
        self.rows = len(rest)
        return head


def read_ahead(chunks: Iterator[LineChunk], depth: int = 2) -> Iterator[LineChunk]:
    """Produce ``chunks`` in a background thread, ``depth`` ahead of the consumer.

    Reading, decompressing, hashing and splitting the next block overlaps with DuckDB working
    on the current one (both release the GIL for most of their work).
    """
    queue: Queue[LineChunk | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)

    worker = threading.Thread(target=produce, name="analyzer-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.05)
        worker.join()


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
