"""One database with every fixture case of tests/rules/cases, imported and analysed once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analyzer import store
from analyzer.analysis import AnalysisResult, analyze
from tests.rules.cases import Case, load_cases, write_logs
from tests.rules.loader import load

CASES: list[Case] = load_cases()


@pytest.fixture(scope="session")
def cases_db(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, AnalysisResult]]:
    folder: Path = tmp_path_factory.mktemp("rule-cases")
    logs = folder / "logs"
    logs.mkdir()
    write_logs(CASES, logs)
    con = store.connect(folder / "cases.duckdb")
    load(con, [logs])
    result = analyze(con)
    yield con, result
    con.close()
