"""Open an analysed database, or import logs into one; the bundled sample database.

Readers (the dashboard, notebooks) hold a **read-only** DuckDB connection, so several of
them can share one file. A database is analysed (replay + rules) before it is opened
read-only; that briefly needs the file's single writer lock, so it happens only when the
analysis is missing or older than the imported events.

The sample database is built on first use from ``sample_logs/native`` into a cache file
(``$ANALYZER_CACHE_DIR``, else ``$XDG_CACHE_HOME/analyzer``, else ``~/.cache/analyzer``),
named after a fingerprint of the sample logs and of the import/replay/rules code, so it is
rebuilt whenever either changes. It is written to a temporary file and renamed into place,
so a reader never sees a half-built database.

Example:
    >>> from analyzer.api.database import open_connection
    >>> con = open_connection()  # the sample incident, read-only  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import duckdb

from analyzer import store
from analyzer.errors import InputNotFoundError

PathLike = str | os.PathLike[str]

_SAMPLE_LOCK = threading.Lock()
REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# Code whose changes invalidate the cached sample database.
_CODE_PARTS = (
    "importers",
    "replay",
    "rules",
    "analysis",
    "analysis.py",
    "classify.py",
    "config.py",
    "store.py",
    "events.py",
    "summary",
)


def sample_logs_dir() -> Path:
    """Where the bundled sample incident lives (``$ANALYZER_SAMPLE_LOGS`` overrides)."""
    override = os.environ.get("ANALYZER_SAMPLE_LOGS")
    return Path(override) if override else REPO_ROOT / "sample_logs" / "native"


def cache_dir() -> Path:
    """The directory for cached databases (created on demand)."""
    override = os.environ.get("ANALYZER_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "analyzer"


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    )


def _fingerprint(logs: Path) -> str:
    digest = hashlib.sha256()
    for path in _files(logs):
        st = path.stat()
        digest.update(f"{path.relative_to(logs)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for part in _CODE_PARTS:
        target = PACKAGE_ROOT / part
        code = (
            [target]
            if target.is_file()
            else sorted(p for p in target.rglob("*") if p.suffix in (".py", ".sql"))
            if target.exists()
            else []
        )
        for path in code:
            st = path.stat()
            digest.update(
                f"{path.relative_to(PACKAGE_ROOT)}|{st.st_size}|{st.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()[:16]


def sample_db_path(*, build: bool = True) -> Path:
    """The cached sample database, built from :func:`sample_logs_dir` when missing or stale."""
    logs = sample_logs_dir()
    if not logs.exists() or not _files(logs):
        raise InputNotFoundError(
            f"the bundled sample logs are missing ({logs}); run "
            "`analyzer simulate --out sample_logs/native` or open another database with --db"
        )
    target = cache_dir() / f"sample-{_fingerprint(logs)}.duckdb"
    if build and not target.exists():
        with _SAMPLE_LOCK:  # sessions of one dashboard build it once (other processes race safely)
            if not target.exists():
                build_database([logs], target)
                for old in target.parent.glob("sample-*.duckdb"):
                    if old != target:
                        old.unlink(missing_ok=True)
    return target


def import_and_analyze(
    con: duckdb.DuckDBPyConnection, paths: Iterable[PathLike], *, workers: int = 1
) -> object:
    """Import ``paths`` into a writable connection, then replay and run the rules (in shards
    on ``workers`` processes when more than 1: analyzer.shard, the same answer).

    Returns whatever the importer reports (its summary of files, events and rejected lines).
    """
    from analyzer.importers import import_paths

    result = import_paths(con, [str(p) for p in paths])
    if workers > 1:
        from analyzer.shard import ShardOptions, analyze_sharded

        analyze_sharded(con, None, ShardOptions(workers=workers), load=False)
    else:
        analyze(con)
    return result


def analyze(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the replay tables, the findings and the summaries of a writable connection."""
    from analyzer.analysis import analyze as run_analysis

    run_analysis(con, load=False)  # the findings stay in the database: nothing reads them here


def build_database(paths: Iterable[PathLike], target: PathLike, *, workers: int = 1) -> Path:
    """Create ``target`` from scratch: import ``paths`` and analyse (atomic: temp + rename)."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=final.name + ".", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        con = store.connect(tmp)
        try:
            import_and_analyze(con, paths, workers=workers)
        finally:
            con.close()
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return final


def is_analyzed(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the replay tables and findings exist and cover every imported event."""
    from analyzer.analysis import is_current

    return is_current(con)


def open_connection(path: PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an analysed database (``None``: the sample incident).

    Analyses the database first when needed (which needs the write lock for a moment).
    """
    target = Path(path) if path is not None else sample_db_path()
    con = store.open_existing(target)
    if is_analyzed(con):
        return con
    con.close()
    writer = store.connect(target)
    try:
        analyze(writer)
    finally:
        writer.close()
    return store.connect(target, read_only=True)
