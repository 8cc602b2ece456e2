"""Importers: read log files into the ``events`` / ``rejected`` / ``imports`` tables.

Public entry point (used by the CLI, the dashboard's import page and the notebook API)::

    import_paths(con, paths, *, fmt=None, progress=None) -> ImportSummary

``paths`` are files, directories (recursive; names starting with ``_`` or ``.`` skipped) and
globs; ``.gz`` and ``.zst`` are decompressed on the fly. Each file's format is detected from
its first bytes (:mod:`.registry`) unless ``fmt`` forces one. Each file is imported in its
own transaction, and recorded in ``imports`` so that importing it again adds nothing and a
grown file adds only its new lines (:mod:`.bookkeeping`). The native format's importer is
:mod:`.native`; secrets are redacted on the way in (:mod:`.redact`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from analyzer.errors import AnalyzerError
from analyzer.importers import bookkeeping, native, native_many, registry
from analyzer.importers.formats.fal_attribution import attribution_counts
from analyzer.importers.paths import READ_ERRORS, expand_paths, is_compressed
from analyzer.importers.registry import Format, ImportContext, get_format, register
from analyzer.importers.summary import FileResult, ImportSummary, RejectedLine
from analyzer.importers.timestamps import use_window
from analyzer.progress import Progress
from analyzer.store import ensure_schema

__all__ = [
    "FileResult",
    "Format",
    "ImportContext",
    "ImportSummary",
    "RejectedLine",
    "get_format",
    "import_paths",
    "register",
]


def import_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike[str]],
    *,
    fmt: str | None = None,
    progress: Progress | None = None,
    ts_window: str | None = None,
) -> ImportSummary:
    """Import every file that ``paths`` names into the database behind ``con``.

    ``ts_window`` (``"2000-01-01..2100-01-01"``): the plausible times; a line whose time falls
    outside is rejected with its reason (default: $ANALYZER_TS_WINDOW or
    :data:`~analyzer.importers.timestamps.DEFAULT_WINDOW`).
    """
    with use_window(ts_window):
        return _import_paths(con, paths, fmt=fmt, progress=progress)


def _import_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike[str]],
    *,
    fmt: str | None,
    progress: Progress | None,
) -> ImportSummary:
    """Import every file that ``paths`` names into the database behind ``con``.

    Raises :class:`~analyzer.errors.InputNotFoundError` before importing anything if a path
    matches nothing, :class:`~analyzer.errors.InputUnreadableError` for a file that cannot be
    read or decompressed (files imported before it stay imported), and
    :class:`~analyzer.errors.UnknownFormatError` for a file no format recognises.
    """
    started = time.perf_counter()
    files = expand_paths(paths)
    forced = get_format(fmt) if fmt else None
    ensure_schema(con)
    # ours is on stderr; DuckDB's on stdout. In Jupyter, DuckDB refuses to change the
    # setting at all without ipywidgets installed: then leave it as it is.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    summary = ImportSummary()
    done_bytes = 0
    batch: list[Path] = []  # plain native files waiting to go through one statement
    batch_bytes = 0

    def done(results: list[FileResult], nbytes: int) -> None:
        nonlocal done_bytes
        summary.files.extend(results)
        if progress is not None:
            done_bytes += nbytes
            progress.done = done_bytes

    def flush() -> None:
        nonlocal batch_bytes
        if len(batch) == 1:
            done([_import_one(con, batch[0], get_format(native.NAME), progress)], batch_bytes)
        elif batch:
            done(_import_batch(con, list(batch), progress), batch_bytes)
        batch.clear()
        batch_bytes = 0

    with _import_settings(con, IMPORT_MEMORY_LIMIT):
        for path in files:
            if progress is not None:
                progress.set_label(path.name)
            chosen = forced or registry.detect(path)
            size = _size(path)
            if chosen.name == native.NAME and not is_compressed(path) and size < BATCH_BYTES:
                if batch_bytes + size > BATCH_BYTES:
                    flush()
                batch.append(path)
                batch_bytes += size
                continue
            flush()  # a large file (in segments) or another format: alone
            done([_import_one(con, path, chosen, progress)], size)
        flush()
    if progress is not None:
        progress.close()
    summary.attribution = attribution_counts(
        con, [f.import_id for f in summary.files if f.format == "fal_logs" and f.import_id]
    )
    summary.seconds = time.perf_counter() - started
    return summary


IMPORT_MEMORY_LIMIT = 384 * 1024 * 1024
"""DuckDB's memory limit while importing (lowered only): written blocks are not cached
beyond it, so an import's peak memory does not grow with the size of the input."""

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def _parse_bytes(text: str) -> float:
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        return float("inf")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


@contextlib.contextmanager
def _import_settings(con: duckdb.DuckDBPyConnection, limit: int) -> Iterator[None]:
    """DuckDB settings for the duration of an import, restored afterwards: ``memory_limit``
    lowered to ``limit`` (never raised), so written blocks are not cached beyond it and peak
    memory does not grow with the input; ``preserve_insertion_order`` off.

    Insertion order: with it on, DuckDB's INSERT keeps the batches of the stream in order,
    which at this memory limit leaves one thread waiting for the other (the import ran on
    one core: 11 s instead of 5.5 s on 1.5M lines, and 0.7 GB peak instead of 0.55 GB when
    the limit is raised to let both run). Nothing reads ``events`` in its physical order
    (every event carries ``event_id``, ``file`` and ``line_no``); the cost is a database file
    about 15% larger.
    """
    old_limit = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    old_order = str(
        con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    )
    lower = _parse_bytes(old_limit) > limit
    if lower:
        con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        if lower:
            con.execute("SET memory_limit = '" + old_limit.replace("'", "''") + "'")
        con.execute(f"SET preserve_insertion_order = {old_order.lower() == 'true'}")


def _import_one(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: Format, progress: Progress | None
) -> FileResult:
    """One file in one transaction: plan, import, record."""
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        plan = bookkeeping.plan_file(con, path, fmt.name, appendable=fmt.appendable)
        if plan.status == "unchanged":
            con.execute("COMMIT")
            return FileResult(
                path=str(path), format=fmt.name, status="unchanged", first_line=plan.first_line
            )
        import_id = bookkeeping.next_import_id(con)

        def checkpoint(partial: FileResult, size: int, content_hash: str) -> None:
            _record(con, import_id, path, fmt, plan, partial, size, content_hash)
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")

        ctx = ImportContext(
            import_id=import_id, plan=plan, progress=progress, checkpoint=checkpoint
        )
        result = fmt.import_file(con, path, ctx)
        result.status = plan.status
        result.seconds = time.perf_counter() - started
        content_hash = ctx.content_hash or plan.content_hash
        if content_hash is None:
            content_hash = bookkeeping.hash_prefix(path, plan.size).hexdigest()
        _record(con, import_id, path, fmt, plan, result, plan.size, content_hash)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _size(path: Path) -> int:
    """The file's size; 0 if it vanished (planning the import then reports it properly)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


_ONE_BY_ONE: tuple[type[BaseException], ...] = (AnalyzerError, *READ_ERRORS)
BATCH_BYTES = 512 * 1024 * 1024
"""Plain native files are imported together, through one INSERT statement, up to about this
much input (:mod:`.native_many`), as much as one segment of a large file."""


def _import_batch(
    con: duckdb.DuckDBPyConnection, paths: list[Path], progress: Progress | None
) -> list[FileResult]:
    """Plain native files in one transaction and one INSERT statement (:mod:`.native_many`).

    If that fails, the files are imported again one by one, each in its own transaction: a
    file that cannot be read then fails alone, after the files before it were imported.
    """
    fmt = get_format(native.NAME)
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        results: dict[Path, FileResult] = {}
        jobs: list[native_many.FileJob] = []
        # ids from before any planning: planning a replaced file deletes its old import rows
        first_id = bookkeeping.next_import_id(con)
        for path in paths:
            plan = bookkeeping.plan_file(con, path, fmt.name, appendable=fmt.appendable)
            if plan.status == "unchanged":
                results[path] = FileResult(
                    path=str(path), format=fmt.name, status="unchanged", first_line=plan.first_line
                )
                continue
            import_id = first_id + len(jobs)
            ctx = ImportContext(import_id=import_id, plan=plan, progress=progress)
            jobs.append(native_many.FileJob(path, ctx))
        if jobs:
            native_many.import_many(con, jobs)
        for job in jobs:
            job.result.seconds = job.result.seconds or time.perf_counter() - started
            plan = job.ctx.plan
            _record(
                con, job.ctx.import_id, job.path, fmt, plan, job.result, plan.size,
                job.ctx.content_hash or "",
            )  # fmt: skip
            results[job.path] = job.result
        con.execute("COMMIT")
    except _ONE_BY_ONE:
        con.execute("ROLLBACK")
        return [_import_one(con, path, fmt, progress) for path in paths]
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [results[p] for p in paths]


def _record(
    con: duckdb.DuckDBPyConnection,
    import_id: int,
    path: Path,
    fmt: Format,
    plan: bookkeeping.Plan,
    result: FileResult,
    size: int,
    content_hash: str,
) -> None:
    bookkeeping.record_import(
        con,
        import_id=import_id,
        path=path,
        format_name=fmt.name,
        size=size,
        content_hash=content_hash,
        first_line=plan.first_line,
        lines=result.lines,
        events=result.events,
        rejected=result.rejected,
        naive=result.naive_timestamps,
        unknown=result.unknown_events,
        seconds=result.seconds,
    )
