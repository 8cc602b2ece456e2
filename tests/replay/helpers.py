"""Test helpers for the replay: load a small native .jsonl into a fresh in-memory database."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from analyzer.events import FIELD_TYPES
from analyzer.store import connect


def load_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Import ``path`` with the real importer (``REPLAY_TEST_LOADER=simple``: a minimal typed
    ``read_json`` loader, to test the replay alone while the importer is being changed)."""
    if os.environ.get("REPLAY_TEST_LOADER") != "simple":
        from analyzer.importers import import_paths

        import_paths(con, [str(path)])
        row = con.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0
    cols = {n: ("JSON" if n == "ts" else t) for n, t in FIELD_TYPES.items()}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _load AS SELECT *, row_number() OVER () AS line_no "
        "FROM read_json(?, format = 'newline_delimited', columns = ?)",
        [str(path), cols],
    )
    start = con.execute("SELECT coalesce(max(event_id), 0) FROM events").fetchone()
    base = int(start[0]) if start else 0
    names = [n for n in FIELD_TYPES if n != "ts"]
    con.execute(
        f"INSERT INTO events (event_id, ts, {', '.join(names)}, ts_raw, file, line_no, import_id) "
        f"SELECT ? + line_no, CASE WHEN json_type(ts) IN ('DOUBLE', 'BIGINT', 'UBIGINT') "
        "THEN to_timestamp(ts::DOUBLE) ELSE (ts ->> '$')::TIMESTAMPTZ END, "
        f"{', '.join(names)}, ts::VARCHAR, ?, line_no, 1 FROM _load",
        [base, str(path)],
    )
    row = con.execute("SELECT count(*) FROM _load").fetchone()
    con.execute("DROP TABLE _load")
    return int(row[0]) if row else 0


def fresh_db(*paths: Path) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    for p in paths:
        load_jsonl(con, p)
    return con
