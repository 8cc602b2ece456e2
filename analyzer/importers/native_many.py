"""Several plain native files through ONE INSERT statement.

Every INSERT statement leaves a partial row group behind, and the checkpoint that follows
merges those of consecutive statements by rewriting them: importing the 6 files of a
simulated day (457 MB) file by file spent 1.4-2.2 s in that checkpoint, 20-30% of the import.
So :func:`import_many` chains the files into one Arrow stream: each line carries ``src``
(the file's index) and ``id_base`` (where its file's event ids start), and one statement
inserts them all (:func:`analyzer.importers.native_sql.insert_events_many_sql`). Everything
else is per file, as in :mod:`.native`: the bookkeeping, the bad-line pass over the blocks
that came up short, the counts of the summary.

The caller (``import_paths``) hands over plain files only (a compressed file cannot be
re-read block by block cheaply), a few hundred MiB at most in one transaction, and imports
them again one by one if this fails, so that a file that cannot be read does not take the
files before it down with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from analyzer.importers import native, native_sql
from analyzer.importers.lines import LINES_SCHEMA, LineReader, numeric_array
from analyzer.importers.paths import open_binary
from analyzer.importers.summary import FileResult
from analyzer.importers.timestamps import current_window
from analyzer.store import next_event_id

if TYPE_CHECKING:
    from analyzer.importers.registry import ImportContext

MANY_SCHEMA = pa.schema(
    [*LINES_SCHEMA, pa.field("src", pa.int32()), pa.field("id_base", pa.int64())]
)


@dataclass
class FileJob:
    """One file of the chain: its path and its import context (plan, import id)."""

    path: Path
    ctx: ImportContext
    result: FileResult = field(init=False)
    chunks: list[native.ChunkInfo] = field(default_factory=list)
    reader: LineReader | None = None
    nbytes: int = 0
    oversize: list[tuple[int, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.result = native.new_result(self.path, self.ctx)


def import_many(con: duckdb.DuckDBPyConnection, jobs: list[FileJob]) -> list[FileResult]:
    """Import the new lines of every job's (plain, native) file; their results, in order."""
    started = time.perf_counter()
    chain = _Chain(jobs, next_event_id(con))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chunk_files (src INTEGER, file VARCHAR, import_id INTEGER)"
    )
    con.executemany(
        "INSERT INTO chunk_files VALUES (?, ?, ?)",
        [(i, str(j.path), j.ctx.import_id) for i, j in enumerate(jobs)],
    )
    stream = pa.RecordBatchReader.from_batches(MANY_SCHEMA, chain.batches())
    native.insert_stream(
        con, native_sql.insert_events_many_sql(current_window()), {}, stream, lambda: chain.error
    )
    con.execute("DROP TABLE chunk_files")
    ids = [j.ctx.import_id for j in jobs]
    good = dict(
        con.execute(
            "SELECT import_id, count(*) FROM events WHERE list_contains($ids, import_id) "
            "GROUP BY import_id",
            {"ids": ids},
        ).fetchall()
    )
    elapsed = time.perf_counter() - started
    total_bytes = sum(j.nbytes for j in jobs) or 1
    for job in jobs:
        plan, result = job.ctx.plan, job.result
        result.events = int(good.get(job.ctx.import_id, 0))
        segment = native.Segment(job.chunks)
        if result.events < segment.nonblank:
            params = {"file": str(job.path), "import_id": job.ctx.import_id}
            result.rejected = native.store_rejected(con, job.path, plan, segment, params)
        native.store_oversize(con, job.path, job.oversize, result)
        native.finish_counts(con, result, job.ctx.import_id)
        assert job.reader is not None and plan.hasher is not None
        result.lines = job.reader.lines_read
        result.bytes_read = job.reader.bytes_read
        result.seconds = elapsed * job.nbytes / total_bytes
        job.ctx.content_hash = plan.hasher.hexdigest()
    return [j.result for j in jobs]


class _Chain:
    """The files' blocks one after the other, as record batches with ``src`` and ``id_base``.

    Event ids: a file's ids are ``id_base + line_no``; the next file starts after the last
    line number of this one, so that ids stay unique (as with one file at a time).
    """

    def __init__(self, jobs: list[FileJob], first_id: int) -> None:
        self.jobs = jobs
        self.next_id = first_id
        self.error: BaseException | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for src, job in enumerate(self.jobs):
                yield from self._file(src, job)
        except BaseException as exc:  # kept: DuckDB reports it only as text
            self.error = exc
            raise

    def _file(self, src: int, job: FileJob) -> Iterator[pa.RecordBatch]:
        plan = job.ctx.plan
        id_base = self.next_id - plan.first_line
        if job.ctx.progress is not None:
            job.ctx.progress.set_label(job.path.name)
        with open_binary(job.path) as stream:
            reader = native.plan_reader(stream, plan, compressed=False)
            job.reader = reader
            chunks = native.read_ahead(reader.chunks())
            try:
                for index, chunk in enumerate(chunks):
                    table = chunk.table
                    job.chunks.append(native.ChunkInfo.of(index, chunk, len(table)))
                    job.oversize.extend(chunk.oversize)
                    job.nbytes += chunk.nbytes
                    if job.ctx.progress is not None:
                        job.ctx.progress.advance(chunk.nbytes)
                    for batch in table.to_batches(max_chunksize=native.batch_rows(table)):
                        n = len(batch)
                        yield pa.RecordBatch.from_arrays(
                            [
                                batch.column(0),
                                batch.column(1),
                                numeric_array(np.full(n, src, dtype=np.int32)),
                                numeric_array(np.full(n, id_base, dtype=np.int64)),
                            ],
                            schema=MANY_SCHEMA,
                        )
            finally:
                chunks.close()
        self.next_id += reader.lines_read
