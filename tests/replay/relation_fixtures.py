"""Golden fixtures of the replay's relations, one per relation (``tests/replay/relations/*.json``),
in the spirit of sqlglot's optimizer fixtures: the rows of each declared input, and the rows the
relation's SQL must make of them.

A fixture holds ``{"relation", "case", "inputs": {name: {"columns": {col: type}, "rows": [...]}},
"expected": {...}}``; rows are DuckDB's ``to_json`` of each row, sorted. ``events`` and
``replay_events`` keep only the columns the relation's SQL names. Regenerate with
``python -m tests.replay.make_relation_fixtures`` after a deliberate change, and read the diff.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from analyzer.replay.graph import Relation, materialise
from analyzer.replay.policy import default_policy
from analyzer.store import quote_identifier

FIXTURES = Path(__file__).resolve().parent / "relations"
FLOAT_TOLERANCE = 1e-6
EVENT_SOURCES = ("events", "replay_events")


def columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {quote_identifier(name)}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def rows(con: duckdb.DuckDBPyConnection, name: str, cols: list[str]) -> list[Any]:
    sel = ", ".join(quote_identifier(c) for c in cols)
    got = con.execute(
        f"SELECT to_json(fixture_row) FROM (SELECT {sel} FROM {quote_identifier(name)}) fixture_row"
    ).fetchall()
    return sorted((json.loads(r[0]) for r in got), key=lambda r: json.dumps(r, sort_keys=True))


def used_columns(rel: Relation, available: dict[str, str]) -> list[str]:
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", rel.sql))
    return [c for c in available if c in words or c == "event_id"]


def snapshot(con: duckdb.DuckDBPyConnection, rel: Relation, case: str) -> dict[str, Any]:
    """The fixture of ``rel`` from a connection where its inputs and itself exist."""
    inputs = {}
    for name in rel.inputs:
        cols = columns(con, name)
        if name in EVENT_SOURCES:
            cols = {c: cols[c] for c in used_columns(rel, cols)}
        inputs[name] = {"columns": cols, "rows": rows(con, name, list(cols))}
    out = columns(con, rel.name)
    return {
        "relation": rel.name,
        "case": case,
        "inputs": inputs,
        "expected": {"columns": out, "rows": rows(con, rel.name, list(out))},
    }


def load_inputs(con: duckdb.DuckDBPyConnection, fixture: dict[str, Any]) -> None:
    """Create each input table of ``fixture`` with its columns and rows."""
    for name, table in fixture["inputs"].items():
        cols: dict[str, str] = table["columns"]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(table["rows"], fh)
            path = fh.name
        try:
            con.execute(
                f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM read_json(?, "
                "format = 'array', columns = ?)",
                [path, cols],
            )
        finally:
            Path(path).unlink()


def run_fixture(fixture: dict[str, Any], rel: Relation) -> tuple[dict[str, str], list[Any]]:
    """Materialise ``rel`` over the fixture's inputs in a fresh database: (columns, rows)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    load_inputs(con, fixture)
    materialise(con, rel, default_policy())
    out = columns(con, rel.name)
    return out, rows(con, rel.name, list(out))


def same(a: Any, b: Any) -> bool:
    """Equal, floats within :data:`FLOAT_TOLERANCE`."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and abs(float(a) - float(b)) <= FLOAT_TOLERANCE * max(1.0, abs(float(b)))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
