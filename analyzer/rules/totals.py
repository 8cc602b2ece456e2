"""The cost of a set of findings, each runner kill and GPU-second counted once.

Rules overlap by design: a poison request that killed ten runners is one R004 finding (the
ten kills), ten R001 findings (one kill each) and often S001 findings on the same attempts.
Each finding's own cost is right, and the per-rule sums are right, but summing every finding
counts the same kills two or three times (on the bundled sample: 95 "runners killed" where
the logs show 55 terminated runners in all).

So the total groups the findings by request (findings without a request by runner, and the
rest one by one), and within a group counts what can overlap once:

- runners killed: the distinct runners of the findings that blame one kill each (a runner
  dies once), plus, where a single finding reports several kills (a request-level finding
  such as R004 counts every kill of its request), those the one-kill findings of the same
  request do not already name;
- GPU-seconds and money: the largest a single finding of the group reports.

The result never counts a kill or a GPU-second twice. It can count less than the truth when
two rules blame disjoint costs in the same request (say orphaned child work and a needless
503 on another attempt); the per-rule lines of a report show each rule's own sum.

This is the one computation of the findings' cost (docs/tables.md, "Headline numbers":
``runners_killed``, ``gpu_seconds``, ``cost_usd``): :data:`FINDING_COST_SQL`, per app, over
a relation shaped like the ``findings`` table. The summary relations run it over the
``findings`` table; :func:`cost_totals` runs the same statement over a list of findings
(what ``check`` reports after a baseline) in an in-memory database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from analyzer.rules.base import Finding

FINDING_COLUMNS = ("finding_id", "app", "request_id", "runner_id", "runners_killed",
                   "gpu_seconds", "cost_usd")  # fmt: skip
"""What :data:`FINDING_COST_SQL` reads of each finding."""

FINDING_COST_SQL = """
WITH f AS (
    SELECT app, runner_id, runners_killed, gpu_seconds, cost_usd,
           coalesce('request:' || request_id, 'runner:' || runner_id,
                    'finding:' || finding_id) AS grp
    FROM {source}
),
one_kill AS (  -- findings blaming one kill each: a runner dies once
    SELECT app, count(DISTINCT runner_id) + count(*) FILTER (runner_id IS NULL) AS killed
    FROM f WHERE runners_killed = 1 GROUP BY app
),
grouped AS (  -- per request (else runner, else finding): what can overlap, once
    SELECT app, grp, max(runners_killed) AS largest,
           count(DISTINCT runner_id) FILTER (runners_killed = 1) AS named,
           max(coalesce(gpu_seconds, 0)) AS gpu, max(coalesce(cost_usd, 0)) AS usd
    FROM f GROUP BY app, grp
),
per_app AS (
    SELECT app, sum(CASE WHEN largest > 1 THEN greatest(largest - named, 0) ELSE 0 END)
                AS unnamed_kills, sum(gpu) AS gpu_seconds, sum(usd) AS cost_usd
    FROM grouped GROUP BY app
)
SELECT p.app, (coalesce(k.killed, 0) + p.unnamed_kills)::INTEGER AS runners_killed,
       p.gpu_seconds::DOUBLE AS gpu_seconds, p.cost_usd::DOUBLE AS cost_usd
FROM per_app p LEFT JOIN one_kill k ON k.app IS NOT DISTINCT FROM p.app
"""
"""Per app: ``app, runners_killed, gpu_seconds, cost_usd`` of the findings in ``{source}`` (a
table name or a parenthesised query with :data:`FINDING_COLUMNS`)."""


@dataclass(frozen=True)
class CostTotals:
    runners_killed: int = 0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


def finding_cost_sql(source: str = "findings") -> str:
    """:data:`FINDING_COST_SQL` over ``source`` (an identifier or a parenthesised query)."""
    return FINDING_COST_SQL.format(source=source)


def cost_totals(findings: Iterable[Finding]) -> CostTotals:
    """The findings' cost with overlaps counted once (see the module docstring)."""
    frame = pd.DataFrame(
        [
            (
                i,
                f.app,
                f.request_id,
                f.runner_id or None,
                f.cost.runners_killed,
                f.cost.gpu_seconds,
                f.cost.cost_usd,
            )
            for i, f in enumerate(findings)
        ],
        columns=list(FINDING_COLUMNS),
    )
    if frame.empty:
        return CostTotals()
    con = duckdb.connect()
    try:
        con.register("reported", frame)
        rows = con.execute(
            "SELECT sum(runners_killed), sum(gpu_seconds), sum(cost_usd) FROM ("
            + finding_cost_sql("reported")
            + ")"
        ).fetchall()
    finally:
        con.close()
    row = rows[0]
    return CostTotals(
        runners_killed=int(row[0] or 0),
        gpu_seconds=float(row[1] or 0.0),
        cost_usd=float(row[2] or 0.0),
    )


def findings_summary(findings: Sequence[Finding]) -> dict[str, Any]:
    """Counts by code and severity, and the cost with overlaps once, of ``findings``."""
    by_code: dict[str, int] = {}
    by_severity: dict[str, int] = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    totals = cost_totals(findings)  # each kill and GPU-second once (analyzer.rules.totals)
    return {
        "findings": len(findings),
        "findings_by_code": dict(sorted(by_code.items())),
        "findings_by_severity": by_severity,
        "runners_killed": totals.runners_killed,
        "gpu_seconds": round(totals.gpu_seconds, 3),
        "cost_usd": round(totals.cost_usd, 6),
    }
