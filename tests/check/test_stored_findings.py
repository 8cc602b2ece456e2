"""The findings `check` reports, read in SQL (StoredFindings), answer as the same findings read
into memory: every count, the cost, the text report's rule lines, each JSON object, the
baseline; the summary relations' headline in SQL is the pandas fold; `check` imports no pandas."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analyzer import store, summary
from analyzer.analysis import ensure_analyzed
from analyzer.report import CheckReport, render
from analyzer.report.json_format import document
from analyzer.rules import REGISTRY
from analyzer.rules.baseline import apply_baseline
from analyzer.rules.store import load_findings
from analyzer.rules.stored import StoredFindings, memory_groups
from analyzer.rules.totals import cost_totals, findings_summary

ROOT = Path(__file__).resolve().parents[2]
ALL = [r.code for r in REGISTRY.select([], [])]


@pytest.fixture(scope="module")
def con(sample_db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = store.connect(sample_db_path, read_only=True)
    yield c
    c.close()


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


@pytest.mark.parametrize("codes", [ALL, ["S001", "R001", "C004"], ["L001"]])
def test_stored_findings_are_the_findings_in_memory(
    con: duckdb.DuckDBPyConnection, codes: list[str]
) -> None:
    memory = tuple(f for f in load_findings(con) if f.code in codes)
    stored = StoredFindings(con, codes)
    assert len(stored) == len(memory) and list(stored) == list(memory)
    if codes == ALL:
        assert len(memory) > 20  # the sample has findings of many rules
        assert stored[0] == memory[0] and stored[-1] == memory[-1]
        assert tuple(stored[3:7]) == memory[3:7]
    assert [json.loads(j) for j in stored.json_items()] == [f.to_dict() for f in memory]
    assert stored.summary() == findings_summary(memory)
    assert stored.cost() == cost_totals(memory) or _close(
        vars(stored.cost()), vars(cost_totals(memory))
    )
    for fail_on in ("error", "warning", "info", "never"):
        report = CheckReport(findings=memory, rules=(), summary={}, fail_on=fail_on)
        assert stored.failing(fail_on) == len(report.failing)
    mine, theirs = stored.groups(), memory_groups(memory)
    assert [(g.code, g.findings, g.examples) for g in mine] == [
        (g.code, g.findings, g.examples) for g in theirs
    ]
    assert all(_close(vars(a), vars(b)) for a, b in zip(mine, theirs, strict=True))


def test_the_cost_of_every_finding_is_the_summary_relations(
    con: duckdb.DuckDBPyConnection,
) -> None:
    every = StoredFindings(con, ALL, summarised=True)
    computed = StoredFindings(con, ALL).cost()
    assert computed.runners_killed > 0 and _close(vars(every.cost()), vars(computed))
    assert every.summary() == StoredFindings(con, ALL).summary()
    some = StoredFindings(con, ["S001"], summarised=True)  # a part: computed, not summed
    assert _close(vars(some.cost()), vars(cost_totals(list(StoredFindings(con, ["S001"])))))
    assert some.cost().runners_killed < computed.runners_killed


def test_the_baseline_in_sql_is_apply_baseline(con: duckdb.DuckDBPyConnection) -> None:
    memory = tuple(load_findings(con))
    prints: dict[str, int] = {}
    for f in memory:
        prints[f.fingerprint] = prints.get(f.fingerprint, 0) + 1
    shared = [fp for fp, n in prints.items() if n > 1]
    assert shared, "the sample has fingerprints shared by several findings"
    # known: every finding of one fingerprint, some of others (the oldest), one not there
    baseline = {fp: (prints[fp] if i == 0 else 1) for i, fp in enumerate(shared)}
    baseline["0000000000000000"] = 3
    new, known = StoredFindings(con, ALL).without_known(baseline)
    want, want_known = apply_baseline(memory, baseline)
    assert known == want_known > 0 and list(new) == list(want)
    assert new.summary() == findings_summary(want)


def test_a_report_of_stored_findings_renders_as_one_of_findings_in_memory(
    sample_db_path: Path,
) -> None:
    with store.connect(sample_db_path, read_only=True) as c:
        loaded = ensure_analyzed(c)
        lazy = ensure_analyzed(c, load=False)
        assert lazy.findings == () and lazy.stored is not None
        assert list(lazy.selected) == list(loaded.findings)
        assert _close(lazy.summary, loaded.summary)

        def report(result: Any) -> CheckReport:
            return CheckReport(findings=result.selected, rules=result.rules, summary=result.summary)

        for fmt in ("text", "sarif", "junit", "github"):
            assert render(report(lazy), fmt) == render(report(loaded), fmt), fmt
        doc = json.loads(render(report(lazy), "json"))
        assert _close(doc, document(report(loaded)))


def test_the_stored_headline_is_the_pandas_fold(con: duckdb.DuckDBPyConnection) -> None:
    mine = summary.stored_headline(con)
    theirs = summary.headline(summary.stored(con))
    assert mine.keys() == theirs.keys()
    for key in ("window_start", "window_end"):
        assert mine.pop(key) == theirs.pop(key).to_pydatetime()
    assert _close(mine, theirs), {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}
    assert mine["requests"] > 2000 and mine["outcomes"] and mine["terminations_by_reason"]


def test_check_imports_no_pandas(sample_db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = (
        "import sys\n"
        "from analyzer.cli import main\n"
        f"rc = main(['check', '--db', {str(sample_db_path)!r}, '--format', 'json', "
        f"'--output', {str(out)!r}, '--fail-on', 'never'])\n"
        "heavy = sorted(m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0 []"
    assert len(json.loads(out.read_text())["findings"]) > 20
