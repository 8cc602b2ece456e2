"""Every rule against its fixture cases (tests/rules/cases/<CODE>.yml): what must fire fires,
near-misses stay silent. All cases are replayed together once (see conftest.py)."""

from __future__ import annotations

import duckdb
import pytest

from analyzer.analysis import AnalysisResult
from analyzer.rules import REGISTRY
from tests.rules.cases import Case
from tests.rules.conftest import CASES


def _subjects(result: AnalysisResult, case: Case, code: str) -> set[str]:
    out = set()
    for f in result.findings:
        subject = f.app if code == "L001" else f.request_id
        if f.code == code and subject and subject.startswith(case.prefix):
            out.add(subject)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, cases_db: tuple[duckdb.DuckDBPyConnection, AnalysisResult]) -> None:
    _, result = cases_db
    expected = {case.subject(s) for s in case.expect}
    assert _subjects(result, case, case.code) == expected
    for code, subjects in case.others.items():
        assert _subjects(result, case, code) == {case.subject(s) for s in subjects}, code
    if case.quiet:
        mine = [
            f.code
            for f in result.findings
            if (f.request_id or "").startswith(case.prefix) or (f.app or "").startswith(case.prefix)
        ]
        assert mine == []


def test_every_rule_has_cases_that_fire_and_near_misses() -> None:
    for rule in REGISTRY.select():  # the rules with a log query (tests/lint has the others)
        mine = [c for c in CASES if c.code == rule.code]
        assert any(c.expect for c in mine), f"{rule.code}: no case that fires"
        assert sum(1 for c in mine if not c.expect) >= 2, f"{rule.code}: < 2 near-misses"


def test_cases_import_cleanly(cases_db: tuple[duckdb.DuckDBPyConnection, AnalysisResult]) -> None:
    _con, result = cases_db
    assert result.summary["rejected_lines"] == 0
    request_ids = {
        c.prefix + e[3]["request_id"] for c in CASES for e in c.events if "request_id" in e[3]
    }
    assert result.summary["requests"] == len(request_ids)


def test_findings_carry_evidence_and_fingerprint(
    cases_db: tuple[duckdb.DuckDBPyConnection, AnalysisResult],
) -> None:
    _, result = cases_db
    assert result.findings
    for f in result.findings:
        assert f.evidence and f.location is not None, f
        assert f.location.file and f.location.line and f.location.line >= 1
        assert len(f.fingerprint) == 16
        assert f.message and "None" not in f.message
