"""The cost of a set of findings, each runner kill and each attempt's waste counted once.

Rules overlap by design: a poison request that killed ten runners is one R004 finding (the
ten kills), ten R001 findings (one kill each) and often S001 findings on the same attempts.
Each finding's own cost is right, and the per-rule sums are right, but summing every finding
counts the same kills and GPU-seconds two or three times.

- GPU-seconds and money: a finding's cost is the replay's waste of the attempts it blames
  (``findings.blamed``: each attempt's ``gpu_seconds_wasted`` and ``wasted_usd``, selected by
  :mod:`analyzer.rules.engine`). The total sums the waste of the DISTINCT attempts every
  finding blames: never a GPU-second twice, never more than the replay's ``gpu_seconds_wasted``
  over all requests (it is the part of that waste the findings explain).
- Runners killed: the distinct runners of the findings that blame one kill each (a runner dies
  once), plus, where a single finding reports several kills (a request-level finding such as
  R004 counts every kill of its request), those the one-kill findings of the same request do
  not already name (findings without a request are grouped by runner, else one by one).

This is the one computation of the findings' cost (docs/tables.md, "Headline numbers":
``runners_killed``, ``gpu_seconds``, ``cost_usd``): :data:`FINDING_COST_SQL`, per app, over
a relation shaped like the ``findings`` table. The summary relations run it over the
``findings`` table; :func:`cost_totals` runs the same statement over a list of findings
(what ``check`` reports after a baseline) in an in-memory database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.rules.base import Finding

BLAMED_JSON = json.dumps(
    [{"request_id": "VARCHAR", "attempt": "INTEGER", "gpu_seconds": "DOUBLE", "cost_usd": "DOUBLE"}]
)
"""The structure of ``findings.blamed`` (JSON): the attempts a finding blames, with the
replay's waste of each (``attempts.gpu_seconds_wasted``, ``attempts.wasted_usd``)."""

FINDING_COLUMNS = ("finding_id", "app", "request_id", "runner_id", "runners_killed",
                   "blamed")  # fmt: skip
"""What :data:`FINDING_COST_SQL` reads of each finding."""

FINDING_COST_SQL = """
WITH f AS (
    SELECT app, runner_id, runners_killed,
           coalesce('request:' || request_id, 'runner:' || runner_id,
                    'finding:' || finding_id) AS grp
    FROM {source}
),
one_kill AS (  -- findings blaming one kill each: a runner dies once
    SELECT app, count(DISTINCT runner_id) + count(*) FILTER (runner_id IS NULL) AS killed
    FROM f WHERE runners_killed = 1 GROUP BY app
),
grouped AS (  -- per request (else runner, else finding): kills that can overlap, once
    SELECT app, grp, max(runners_killed) AS largest,
           count(DISTINCT runner_id) FILTER (runners_killed = 1) AS named
    FROM f GROUP BY app, grp
),
kills AS (
    SELECT app, sum(CASE WHEN largest > 1 THEN greatest(largest - named, 0) ELSE 0 END)
                AS unnamed_kills
    FROM grouped GROUP BY app
),
blamed AS (  -- every attempt any finding blames, once, with the replay's waste of it
    SELECT DISTINCT app, b.request_id, b.attempt, b.gpu_seconds, b.cost_usd
    FROM (SELECT app, unnest(from_json(blamed, '{blamed_json}')) AS b FROM {source})
),
waste AS (
    SELECT app, sum(gpu_seconds) AS gpu_seconds, sum(cost_usd) AS cost_usd
    FROM blamed GROUP BY app
)
SELECT k.app, (coalesce(o.killed, 0) + k.unnamed_kills)::INTEGER AS runners_killed,
       coalesce(w.gpu_seconds, 0)::DOUBLE AS gpu_seconds,
       coalesce(w.cost_usd, 0)::DOUBLE AS cost_usd
FROM kills k
LEFT JOIN one_kill o ON o.app IS NOT DISTINCT FROM k.app
LEFT JOIN waste w ON w.app IS NOT DISTINCT FROM k.app
"""
"""Per app: ``app, runners_killed, gpu_seconds, cost_usd`` of the findings in ``{source}`` (a
table name or a parenthesised query with :data:`FINDING_COLUMNS`; ``blamed`` is JSON:
:data:`BLAMED_JSON`)."""


@dataclass(frozen=True)
class CostTotals:
    runners_killed: int = 0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


def finding_cost_sql(source: str = "findings") -> str:
    """:data:`FINDING_COST_SQL` over ``source`` (an identifier or a parenthesised query)."""
    return FINDING_COST_SQL.format(source=source, blamed_json=BLAMED_JSON)


_COLUMN_TYPES = {
    "finding_id": "INTEGER", "app": "VARCHAR", "request_id": "VARCHAR", "runner_id": "VARCHAR",
    "runners_killed": "INTEGER", "b_finding": "INTEGER", "b_request_id": "VARCHAR",
    "b_attempt": "INTEGER", "b_gpu_seconds": "DOUBLE", "b_cost_usd": "DOUBLE",
}  # fmt: skip
"""The findings in memory as flat columns (``b_``: one row per blamed attempt)."""

_REPORTED = """(SELECT f.*, to_json(coalesce(b.blamed, [])) AS blamed
FROM (SELECT {f}) f
LEFT JOIN (SELECT b_finding, list({{'request_id': b_request_id, 'attempt': b_attempt,
                                  'gpu_seconds': b_gpu_seconds, 'cost_usd': b_cost_usd}})
                  AS blamed
           FROM (SELECT {b}) GROUP BY b_finding) b ON b.b_finding = f.finding_id)"""


def cost_totals(findings: Iterable[Finding]) -> CostTotals:
    """The findings' cost with overlaps counted once (see the module docstring)."""
    findings = list(findings)
    if not any(f.cost.runners_killed or f.cost.blamed for f in findings):
        return CostTotals()  # nothing to add up (`analyzer lint`'s findings): no DuckDB
    import duckdb

    columns: dict[str, list[Any]] = {k: [] for k in _COLUMN_TYPES}
    for i, f in enumerate(findings):  # flat lists of scalars: DuckDB binds them at C speed
        columns["finding_id"].append(i)
        columns["app"].append(f.app)
        columns["request_id"].append(f.request_id)
        columns["runner_id"].append(f.runner_id or None)
        columns["runners_killed"].append(f.cost.runners_killed)
        for w in f.cost.blamed:
            columns["b_finding"].append(i)
            columns["b_request_id"].append(w.request_id)
            columns["b_attempt"].append(w.attempt)
            columns["b_gpu_seconds"].append(w.gpu_seconds)
            columns["b_cost_usd"].append(w.cost_usd)
    reported = _REPORTED.format(
        f=", ".join(
            f"unnest(${k}::{t}[]) AS {k}" for k, t in _COLUMN_TYPES.items() if k[:2] != "b_"
        ),
        b=", ".join(
            f"unnest(${k}::{t}[]) AS {k}" for k, t in _COLUMN_TYPES.items() if k[:2] == "b_"
        ),
    )
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT sum(runners_killed), sum(gpu_seconds), sum(cost_usd) FROM ("
            + finding_cost_sql(reported)
            + ")",
            columns,
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
    totals = cost_totals(findings)  # each kill and attempt's waste once (see above)
    return {
        "findings": len(findings),
        "findings_by_code": dict(sorted(by_code.items())),
        "findings_by_severity": by_severity,
        "runners_killed": totals.runners_killed,
        "gpu_seconds": round(totals.gpu_seconds, 3),
        "cost_usd": round(totals.cost_usd, 6),
    }
