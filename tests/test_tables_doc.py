"""docs/tables.md cannot drift: its tables and columns match a real, analysed database.

The database is the sample incident imported, replayed and checked by the real pipeline.
Every documented column must exist with the documented type, and every column of a
documented table must be documented; a table the pipeline creates must be documented too
(internal helper tables start with ``_``).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
TYPE_ALIASES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}


def documented() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^### `([a-z_]+)`", line)
        if head:
            current = head.group(1)
            tables[current] = {}
            continue
        row = re.match(r"^\|\s*([a-z_0-9]+)\s*\|\s*([A-Z]+)\s*\|", line)
        if current and row and row.group(1) != "column":
            tables[current][row.group(1)] = row.group(2)
    return tables


@pytest.fixture(scope="module")
def actual(sample_db_path: Path) -> dict[str, dict[str, str]]:
    path = sample_db_path
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    tables: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        tables.setdefault(table, {})[column] = TYPE_ALIASES.get(dtype, dtype)
    return tables


def test_the_doc_lists_tables() -> None:
    doc = documented()
    assert {"events", "requests", "attempts", "timeline", "runners", "findings"} <= set(doc)
    assert all(doc.values())


@pytest.mark.parametrize("table", sorted(documented()))
def test_documented_table_matches_the_database(
    table: str, actual: dict[str, dict[str, str]]
) -> None:
    doc = documented()[table]
    assert table in actual, f"{table} is documented but the pipeline does not create it"
    real = actual[table]
    missing = sorted(set(doc) - set(real))
    undocumented = sorted(set(real) - set(doc))
    assert not missing, f"{table}: documented but absent: {missing}"
    assert not undocumented, f"{table}: present but not in docs/tables.md: {undocumented}"
    wrong = {c: (doc[c], real[c]) for c in doc if doc[c] != real[c]}
    assert not wrong, f"{table}: documented type != actual type: {wrong}"


def test_every_table_is_documented(actual: dict[str, dict[str, str]]) -> None:
    extra = sorted(t for t in actual if t not in documented() and not t.startswith("_"))
    assert not extra, f"tables missing from docs/tables.md: {extra}"
