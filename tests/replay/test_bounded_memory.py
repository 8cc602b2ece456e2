"""The analysis runs under DuckDB's memory_limit and spills to a temp_directory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analyzer import analysis
from analyzer.replay import graph
from analyzer.store import bounded_memory, connect, spill_directory
from tests.replay.helpers import fresh_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def settings(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    row = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    return str(row[0]), str(row[1])


def test_limit_and_spill_directory_inside_the_block_only(tmp_path: Path) -> None:
    con = connect(tmp_path / "a.duckdb")
    before = settings(con)
    with bounded_memory(con, "256MB"):
        limit, spill = settings(con)
        assert limit == "244.1 MiB" and spill == str(tmp_path / "a.duckdb") + ".tmp"
        # a sort larger than the limit spills instead of failing
        n = con.execute(
            "SELECT count(*) FROM (SELECT range::VARCHAR || repeat('x', 100) AS s "
            "FROM range(4000000) ORDER BY s DESC)"
        ).fetchall()[0][0]
        assert n == 4_000_000
    assert settings(con)[0] == before[0]
    mem = connect(":memory:")  # not the working directory
    assert spill_directory(mem).endswith("analyzer-spill")


def test_analyze_replays_and_runs_rules_under_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYZER_MEMORY_LIMIT", "300MB")
    seen: list[str] = []
    real = graph.materialise

    def spy(con: duckdb.DuckDBPyConnection, rel: graph.Relation, *a: object, **k: object) -> None:
        seen.append(settings(con)[0])
        real(con, rel, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(graph, "materialise", spy)
    con = fresh_db(FIXTURES / "oom" / "input.jsonl")
    analysis.analyze(con)
    assert seen and set(seen) == {"286.1 MiB"}
    assert settings(con)[0] != "286.1 MiB"
