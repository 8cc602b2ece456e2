"""Test helpers for the replay: load a small native .jsonl into a fresh in-memory database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analyzer.events import FIELD_TYPES
from analyzer.store import connect


def _ts(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Insert the lines of ``path`` into ``events`` (the real importer when it exists)."""
    try:
        from analyzer.importers import import_paths  # type: ignore[attr-defined]
    except ImportError:
        import_paths = None
    if import_paths is not None:
        import_paths(con, [str(path)])
        row = con.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0
    names = list(FIELD_TYPES)
    rows = []
    start = con.execute("SELECT coalesce(max(event_id), 0) FROM events").fetchone()
    base = int(start[0]) if start else 0
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        values = [_ts(obj["ts"]) if n == "ts" else obj.get(n) for n in names]
        rows.append([base + len(rows) + 1, *values, str(obj["ts"]), str(path), line_no])
    cols = ", ".join(["event_id", *names, "ts_raw", "file", "line_no", "import_id"])
    marks = ", ".join(["?"] * (len(names) + 4))
    con.executemany(f"INSERT INTO events ({cols}) VALUES ({marks}, 1)", rows)
    return len(rows)


def fresh_db(*paths: Path) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    for p in paths:
        load_jsonl(con, p)
    return con
