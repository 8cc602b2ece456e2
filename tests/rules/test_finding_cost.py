"""A finding's cost is the replay's waste of the attempts it blames, selected, never recomputed;
the findings' total is the waste of the distinct attempts they blame (part of all the waste)."""

from __future__ import annotations

import duckdb
import pytest

from analyzer.analysis import AnalysisResult
from analyzer.rules.totals import BLAMED_JSON, cost_totals


def test_each_finding_costs_the_waste_of_its_blamed_attempts(
    cases_db: tuple[duckdb.DuckDBPyConnection, AnalysisResult],
) -> None:
    con, result = cases_db
    rows = con.execute(
        """
        WITH b AS (SELECT finding_id, unnest(from_json(blamed, ?)) AS b FROM findings)
        SELECT f.finding_id, f.code, f.gpu_seconds, f.cost_usd,
               coalesce(sum(a.gpu_seconds_wasted), 0), coalesce(sum(a.wasted_usd), 0),
               count(b.finding_id), count(DISTINCT (b.b).attempt),
               bool_and((b.b).request_id = f.request_id)
        FROM findings f LEFT JOIN b USING (finding_id)
        LEFT JOIN attempts a ON a.request_id = (b.b).request_id AND a.attempt = (b.b).attempt
        GROUP BY ALL
        """,
        [BLAMED_JSON],
    ).fetchall()
    assert len(rows) == len(result.findings) > 0
    costly = 0
    for fid, code, gpu, usd, wasted, wasted_usd, n, distinct, same_request in rows:
        assert gpu == pytest.approx(wasted, abs=1e-9), (fid, code)
        assert usd == pytest.approx(wasted_usd, abs=1e-12), (fid, code)
        assert n == distinct, (fid, code)  # an attempt blamed once per finding
        assert same_request in (None, True), (fid, code)  # attempts of the finding's request
        costly += gpu > 0
    assert costly >= 10  # most rules blame attempts that wasted GPU time


def test_the_findings_total_is_part_of_all_the_waste(
    cases_db: tuple[duckdb.DuckDBPyConnection, AnalysisResult],
) -> None:
    con, result = cases_db
    total = cost_totals(result.findings)
    (all_waste, all_usd, distinct_waste) = con.execute(
        """
        SELECT (SELECT sum(gpu_seconds_wasted) FROM attempts),
               (SELECT sum(wasted_usd) FROM attempts),
               (SELECT sum(a.gpu_seconds_wasted) FROM attempts a
                WHERE (a.request_id, a.attempt) IN (
                    SELECT ((b).request_id, (b).attempt)
                    FROM (SELECT unnest(from_json(blamed, ?)) AS b FROM findings)))
        """,
        [BLAMED_JSON],
    ).fetchall()[0]
    assert total.gpu_seconds == pytest.approx(distinct_waste)
    assert 0 < total.gpu_seconds <= all_waste + 1e-9
    assert 0 < total.cost_usd <= all_usd + 1e-12
    s = result.summary  # the JSON summary: the same numbers under their glossary names
    assert s["gpu_seconds"] == pytest.approx(total.gpu_seconds, abs=1e-3)
    assert s["gpu_seconds_wasted"] == pytest.approx(all_waste)
    # a plain sum over findings counts overlapping rules' attempts twice
    assert sum(f.cost.gpu_seconds for f in result.findings) > total.gpu_seconds


def test_rules_measure_no_gpu_time_themselves() -> None:
    from analyzer.rules import REGISTRY
    from analyzer.rules.base import RuleOptions

    for rule in REGISTRY.select():
        options = rule.Options() if rule.Options is not RuleOptions else RuleOptions()
        sql, _ = rule().sql(options)
        for word in ("gpu_seconds", "cold_start_s", "wasted", "price_usd"):
            assert word not in sql, (rule.code, word)
