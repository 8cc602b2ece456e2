"""The DuckDB store: one database file, the DDL in one place, the schema version.

Tables written by the importers live here (``events``, ``rejected``, ``imports``,
``meta``). The replay and the rules own the DDL of the tables they derive
(``analyzer/replay/schema.py``, ``analyzer/rules/store.py``) and rebuild them from
``events``; they never change the imported tables.

Values always travel as bound parameters; identifiers go through :func:`quote_identifier`.
Helpers read results with ``fetchall()``: with DuckDB 2.0 a ``fetchone()`` leaves the result
open, and the next ``register()`` on the connection then fails.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from analyzer.errors import (
    AnalyzerError,
    DatabaseLockedError,
    InputNotFoundError,
    InputUnreadableError,
)
from analyzer.fields import FIELD_TYPES

SCHEMA_VERSION = 1
DEFAULT_DB = "analyzer.duckdb"
DEFAULT_MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit during an analysis (``ANALYZER_MEMORY_LIMIT`` overrides): large days
spill to :func:`spill_directory` instead of growing the process."""


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


_EVENT_COLUMNS = ",\n    ".join(
    f"{quote_identifier(name)} {sql_type}" for name, sql_type in FIELD_TYPES.items()
)

IMPORT_TABLES_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
CREATE TABLE IF NOT EXISTS events (
    event_id BIGINT NOT NULL,         -- unique across the database
    {_EVENT_COLUMNS},
    ts_raw VARCHAR,                   -- the timestamp as written in the log
    ts_naive BOOLEAN DEFAULT false,   -- the timestamp had no offset and was taken as UTC
    extra JSON,                       -- unknown fields, kept as a JSON object (NULL if none)
    origin VARCHAR DEFAULT 'native',  -- the source format (native, fal_requests, otel, nginx, ...)
    inferred BOOLEAN DEFAULT false,   -- synthesised by an importer, not written by anyone
    file VARCHAR NOT NULL,            -- provenance: the file it came from ...
    line_no BIGINT NOT NULL,          -- ... and its 1-based line number there
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    file VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    raw VARCHAR,                      -- the line, truncated to {{max_raw}} characters
    reason VARCHAR NOT NULL,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY,
    path VARCHAR NOT NULL,            -- absolute path of the file
    format VARCHAR NOT NULL,
    size_bytes BIGINT,                -- bytes of the file at import time
    content_hash VARCHAR,             -- hash of the imported prefix (first size_bytes bytes)
    first_line BIGINT,                -- first line number read by this import
    lines BIGINT,                     -- lines read by this import (blank lines included)
    events BIGINT,
    rejected BIGINT,
    naive_timestamps BIGINT,
    unknown_events BIGINT,
    imported_at TIMESTAMPTZ,
    seconds DOUBLE
);
"""

MAX_RAW_CHARS = 2000


def connect(path: str | Path = DEFAULT_DB, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers, create or upgrade) the database; UTC session time zone.

    Raises :class:`DatabaseLockedError` when another process holds the file for writing.
    """
    target = str(path)
    if read_only and target != ":memory:" and not Path(target).exists():
        raise InputUnreadableError(f"database not found: {target}")
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise DatabaseLockedError(
                f"database {target} is locked by another process; close it (dashboard, notebook, "
                "other import) or use --db with another file"
            ) from None
        raise InputUnreadableError(f"cannot open database {target}: {_first_line(text)}") from None
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        ensure_schema(con)
    else:  # a reader survives any time stored (year 58857, infinity): read as NULL
        from analyzer.safe_times import guard_times

        guard_times(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the import tables if missing and record the schema version."""
    con.execute(IMPORT_TABLES_DDL.replace("{max_raw}", str(MAX_RAW_CHARS)))
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return None if not rows else str(rows[0][0])


def open_existing(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an existing analyzer database: a missing file is
    :class:`InputNotFoundError`, a database without an ``events`` table an :class:`AnalyzerError`
    (one line each, exit 2), never a new empty database."""
    target = Path(path)
    if not target.exists():
        raise InputNotFoundError(f"database not found: {target}")
    con = connect(target, read_only=True)
    if not table_exists(con, "events"):
        con.close()
        raise AnalyzerError(f"{target} is not an analyzer database (no events table)")
    return con


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows and rows[0][0])


def next_event_id(con: duckdb.DuckDBPyConnection) -> int:
    """The first free ``event_id``; importers number their rows from here."""
    rows = con.execute("SELECT coalesce(max(event_id), 0) + 1 FROM events").fetchall()
    return int(rows[0][0]) if rows else 1


def _first_line(text: str) -> str:
    return re.split(r"[\r\n]", text.strip(), maxsplit=1)[0]


def spill_directory(con: duckdb.DuckDBPyConnection) -> str:
    """Where an analysis spills: ``ANALYZER_TEMP_DIRECTORY``, else ``<database file>.tmp``
    (DuckDB's own choice for a file), else a folder in the system's temporary directory (an
    in-memory database would otherwise spill into the working directory)."""
    override = os.environ.get("ANALYZER_TEMP_DIRECTORY")
    if override:
        return override
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if rows and rows[0][0]:
        return f"{rows[0][0]}.tmp"
    return str(Path(tempfile.gettempdir()) / "analyzer-spill")


@contextmanager
def bounded_memory(
    con: duckdb.DuckDBPyConnection, memory_limit: str | None = None
) -> Iterator[None]:
    """Within the block DuckDB keeps to ``memory_limit`` (:data:`DEFAULT_MEMORY_LIMIT`) and
    spills to :func:`spill_directory`; the previous settings come back afterwards."""
    limit = memory_limit or os.environ.get("ANALYZER_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    old_limit, old_dir = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    con.execute("SET memory_limit = ?", [limit])
    spill = spill_directory(con)
    with suppress(duckdb.Error):  # a connection that spilled already keeps its directory
        con.execute("SET temp_directory = ?", [spill])
    try:
        yield
    finally:
        con.execute("RESET memory_limit")  # DuckDB's default, unless another was set
        if con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != old_limit:
            con.execute("SET memory_limit = ?", [str(old_limit)])
        with suppress(duckdb.Error):  # a used directory stays the connection's
            con.execute("SET temp_directory = ?", [str(old_dir)])
