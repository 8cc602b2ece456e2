"""The native format (JSON Lines of ``analyzer.events``): the fast, lossless importer.

The file is streamed in blocks of whole lines (:mod:`.lines`, in a read-ahead thread) as an
Arrow stream into ONE ``INSERT`` statement per segment of the file (:mod:`.native_sql`) that
redacts secrets, parses every line's JSON once, type-checks and casts every known field and
keeps the good lines; DuckDB spreads the work over its threads. Nothing is materialised per
line in Python.

The bad lines are found afterwards, without slowing the common case: the lines inserted per
block are counted against the non-blank lines of the block, and only a block that came up
short is read again and goes through the precise statement that names each line's reason
and stores it in ``rejected``. Both statements are built from the same list of checks.

One statement per segment (about 512 MiB of input), not one per block: every INSERT
statement leaves partial row groups that the checkpoint at close rewrites (2-4 s on 1.5M
lines with per-block inserts, 0.05 s with one statement). Between segments the import
commits its progress, so memory stays bounded whatever the file size and an interrupted
import resumes there (docs/performance.md has the measurements). Several smaller plain files
of one import share one statement (:mod:`.native_many`) for the same reason.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue
from typing import TYPE_CHECKING, BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.errors import InputUnreadableError
from analyzer.importers import native_sql
from analyzer.importers.lines import (
    CHUNK_BYTES,
    LINES_SCHEMA,
    LineChunk,
    LineReader,
    max_line_bytes,
    numeric_array,
)
from analyzer.importers.paths import READ_ERRORS, is_compressed, open_binary
from analyzer.importers.summary import FIRST_REASONS, FileResult, RejectedLine
from analyzer.importers.timestamps import current_window
from analyzer.store import MAX_RAW_CHARS, next_event_id

if TYPE_CHECKING:
    from hashlib import _Hash

    from analyzer.importers.bookkeeping import Plan
    from analyzer.importers.registry import ImportContext

NAME = "native"
BATCH_ROWS = 32_768  # rows per Arrow record batch: DuckDB's threads take batches in turn
# DuckDB works on vectors of up to 2,048 rows, and every step of the statement (redaction,
# parsing) holds a whole vector of its strings: 2,048 lines of 100 KB are 200 MB per step.
# Blocks of long lines therefore go in batches of fewer rows, about this many bytes each.
BATCH_BYTES = 4 * 1024 * 1024


def batch_rows(table: pa.Table) -> int:
    """Rows per record batch for ``table``: :data:`BATCH_ROWS`, fewer when lines are long
    (bounded memory for any line length)."""
    if not len(table):
        return BATCH_ROWS
    longest = pc.max(pc.binary_length(table["line"])).as_py() or 1
    return max(1, min(BATCH_ROWS, BATCH_BYTES // max(1, longest)))


SEGMENT_CHUNKS = 16  # blocks per INSERT statement and commit: ~512 MiB of input
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
    result = new_result(path, ctx)
    compressed = is_compressed(path)
    params = {"file": str(path), "import_id": ctx.import_id}
    id_base = next_event_id(con) - plan.first_line
    stream = open_binary(path)
    chunks: Generator[LineChunk, None, None] | None = None
    try:
        reader = plan_reader(stream, plan, compressed=compressed)
        chunks = read_ahead(reader.chunks())
        source = _Source(chunks, plan.first_line if compressed else 0, ctx)
        while not source.done:
            segment = source.segment(SEGMENT_CHUNKS)
            good = _insert_segment(con, source, {**params, "id_base": id_base})
            result.events += good
            store_oversize(con, path, source.take_oversize(), result)
            if good < segment.nonblank:
                result.rejected += store_rejected(con, path, plan, segment, params)
            if ctx.checkpoint is not None and not source.done and segment.chunks:
                last = segment.chunks[-1]
                result.lines = last.first_line + last.count - plan.first_line
                if compressed:  # progress in a compressed stream cannot be resumed
                    ctx.checkpoint(result, plan.size, "partial")
                else:
                    assert last.hash_state is not None
                    ctx.checkpoint(
                        result, plan.offset + last.end_offset, last.hash_state.hexdigest()
                    )
        end_line = (1 if compressed else plan.first_line) + reader.lines_read - 1
        finish_counts(con, result, ctx.import_id)
    except READ_ERRORS as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc}") from None
    finally:
        if chunks is not None:
            chunks.close()  # stops the read-ahead thread, also after an error
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


def new_result(path: Path, ctx: ImportContext) -> FileResult:
    """The result of importing ``path`` as ``ctx`` plans it, before any line is read."""
    return FileResult(
        path=str(path),
        format=NAME,
        status=ctx.plan.status,
        import_id=ctx.import_id,
        first_line=ctx.plan.first_line,
    )


def plan_reader(stream: BinaryIO, plan: Plan, *, compressed: bool) -> LineReader:
    """The reader of what ``plan`` says is new in ``stream``: a plain file from its offset
    (hashed on the way), a compressed one from its start (the caller skips old lines)."""
    if not compressed and plan.offset:
        stream.seek(plan.offset)
    return LineReader(
        stream,
        first_line=1 if compressed else plan.first_line,
        limit=None if compressed else plan.size - plan.offset,
        hasher=None if compressed else plan.hasher,
        chunk_bytes=CHUNK_BYTES,
        strip_bom=compressed or plan.offset == 0,
    )


@dataclass
class ChunkInfo:
    """What the fast statement was given of one block (to find its bad lines later)."""

    index: int  # position of the block in the file's sequence of blocks
    first_line: int
    count: int  # lines, blank ones included
    nonblank: int  # lines handed to the statement
    start_offset: int
    end_offset: int
    hash_state: _Hash | None

    @classmethod
    def of(cls, index: int, chunk: LineChunk, nonblank: int) -> ChunkInfo:
        return cls(
            index,
            chunk.first_line,
            chunk.count,
            nonblank,
            chunk.start_offset,
            chunk.end_offset,
            chunk.hash_state,
        )


@dataclass
class Segment:
    chunks: list[ChunkInfo] = field(default_factory=list)

    @property
    def nonblank(self) -> int:
        return sum(c.nonblank for c in self.chunks)


class _Source:
    """The file's blocks, handed out as record batches segment by segment.

    ``skip_before``: for a compressed file read again from the start, the first line number
    still to import (earlier lines were imported before). A read error inside the stream is
    kept in ``error`` and raised again by the caller (DuckDB only reports it as text).
    """

    def __init__(self, chunks: Iterator[LineChunk], skip_before: int, ctx: ImportContext) -> None:
        self.chunks = chunks
        self.skip_before = skip_before
        self.ctx = ctx
        self.done = False
        self.error: BaseException | None = None
        self.index = 0
        self.oversize: list[tuple[int, str, int]] = []

    def take_oversize(self) -> list[tuple[int, str, int]]:
        """The lines over the size limit seen since the last call."""
        found, self.oversize = self.oversize, []
        return found

    def segment(self, max_chunks: int) -> Segment:
        segment = Segment()
        self.current = segment
        self.max_chunks = max_chunks
        return segment

    def batches(self) -> Iterator[pa.RecordBatch]:
        segment = self.current
        try:
            while len(segment.chunks) < self.max_chunks:
                chunk = next(self.chunks, None)
                if chunk is None:
                    self.done = True
                    return
                table = _new_lines(chunk.table, self.skip_before)
                self.oversize.extend(o for o in chunk.oversize if o[0] >= self.skip_before)
                segment.chunks.append(ChunkInfo.of(self.index, chunk, len(table)))
                self.index += 1
                if self.ctx.progress is not None:
                    self.ctx.progress.advance(0 if self.skip_before else chunk.nbytes)
                yield from table.to_batches(max_chunksize=batch_rows(table))
        except BaseException as exc:
            self.error = exc
            raise


def _new_lines(table: pa.Table, skip_before: int) -> pa.Table:
    """The lines of ``table`` from line ``skip_before`` on (all of them if 0)."""
    if skip_before and len(table) and table["line_no"][0].as_py() < skip_before:
        numbers = table["line_no"].to_numpy()
        return table.take(numeric_array(np.flatnonzero(numbers >= skip_before)))
    return table


def _insert_segment(
    con: duckdb.DuckDBPyConnection, source: _Source, params: dict[str, object]
) -> int:
    """Run the fast INSERT over the next segment of the stream; the events inserted."""
    stream = pa.RecordBatchReader.from_batches(LINES_SCHEMA, source.batches())
    return insert_stream(
        con, native_sql.insert_events_sql(current_window()), params, stream, lambda: source.error
    )


def insert_stream(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, object],
    stream: pa.RecordBatchReader,
    error: Callable[[], BaseException | None],
) -> int:
    """Run ``sql`` with ``stream`` registered as ``chunk_lines``; the rows it inserted.

    A failure while producing the stream (a read error) reaches DuckDB only as text, so the
    producer keeps it and ``error()`` gives it back to be raised as itself.
    """
    con.register("chunk_lines", stream)
    try:
        rows = con.execute(sql, params).fetchall()
    except duckdb.Error:
        failure = error()
        if failure is not None:
            raise failure from None
        raise
    finally:
        with contextlib.suppress(duckdb.Error):  # refused in a transaction an error aborted
            con.unregister("chunk_lines")
    return int(rows[0][0]) if rows else 0


def read_ahead(chunks: Iterator[LineChunk], depth: int = 2) -> Generator[LineChunk, None, None]:
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


def store_rejected(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    plan: Plan,
    segment: Segment,
    params: dict[str, object],
) -> int:
    """Store the bad lines of ``segment`` in ``rejected``; how many there were.

    The blocks whose lines were not all inserted are read again and go through the precise
    statement, which names each bad line's reason. It must find exactly the lines the fast
    statement left out (both use the same checks); anything else is a bug, not bad input.
    """
    first, last = segment.chunks[0], segment.chunks[-1]
    inserted = con.execute(
        "SELECT line_no FROM events WHERE import_id = $import_id AND line_no BETWEEN $lo AND $hi",
        {"import_id": params["import_id"], "lo": first.first_line,
         "hi": last.first_line + last.count - 1},
    ).fetchnumpy()["line_no"]  # fmt: skip
    starts = np.array([c.first_line for c in segment.chunks], dtype=np.int64)
    per_chunk = np.bincount(
        np.searchsorted(starts, np.asarray(inserted), side="right") - 1, minlength=len(starts)
    )
    short = [c for c, n in zip(segment.chunks, per_chunk, strict=True) if n < c.nonblank]
    missing = sum(c.nonblank - int(n) for c, n in zip(segment.chunks, per_chunk, strict=True))
    stored = 0
    for table in _read_again(path, plan, short):
        if not len(table):
            continue
        con.register("chunk_lines", table)
        try:
            rows = con.execute(
                native_sql.insert_rejected_sql(current_window()),
                {**params, "max_raw": MAX_RAW_CHARS},
            ).fetchall()
        finally:
            con.unregister("chunk_lines")
        stored += int(rows[0][0]) if rows else 0
    if stored != missing:
        raise RuntimeError(
            f"internal error importing {path}: {missing} lines were not imported but "
            f"{stored} were found bad"
        )
    return stored


def _read_again(path: Path, plan: Plan, chunks: list[ChunkInfo]) -> Iterator[pa.Table]:
    """The lines of the given blocks, read from the file once more."""
    if not chunks:
        return
    with open_binary(path) as stream:
        if is_compressed(path):  # no seeking: decompress again, keep the wanted blocks
            wanted = {c.index for c in chunks}
            reader = LineReader(stream, chunk_bytes=CHUNK_BYTES)
            for index, chunk in enumerate(reader.chunks()):
                if index in wanted:
                    yield _new_lines(chunk.table, plan.first_line)
                    if index == max(wanted):
                        return
            return
        for info in chunks:
            size = info.end_offset - info.start_offset
            stream.seek(plan.offset + info.start_offset)
            reader = LineReader(
                stream,
                first_line=info.first_line,
                limit=size,
                chunk_bytes=max(size, 1),
                strip_bom=plan.offset + info.start_offset == 0,
            )
            for chunk in reader.chunks():
                yield chunk.table


def store_oversize(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    oversize: list[tuple[int, str, int]],
    result: FileResult,
) -> None:
    """Keep the lines over the size limit in ``rejected`` (their first bytes, redacted)."""
    if not oversize:
        return
    from analyzer.importers.rows import insert_rejected

    records = [
        (n, head, f"line too long: {size:,} bytes (the limit is {max_line_bytes():,})")
        for n, head, size in oversize
    ]
    insert_rejected(con, records, file=str(path), import_id=result.import_id or 0, result=result)


def finish_counts(con: duckdb.DuckDBPyConnection, result: FileResult, import_id: int) -> None:
    naive, unknown = con.execute(native_sql.COUNTS_SQL, {"import_id": import_id}).fetchall()[0]
    result.naive_timestamps = int(naive or 0)
    result.unknown_events = int(unknown or 0)
    if result.rejected:
        rows = con.execute(
            native_sql.FIRST_REJECTED_SQL, {"import_id": import_id, "n": FIRST_REASONS}
        ).fetchall()
        result.first_rejected = [RejectedLine(result.path, int(n), str(r)) for n, r in rows]
