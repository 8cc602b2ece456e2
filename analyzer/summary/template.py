"""What the summary relations' SQL is written over: placeholders for their inputs.

Each ``analyzer/summary/<table>.sql`` is one ``SELECT`` over ``{requests}``, ``{runners}``,
``{findings}``, ``{finding_cost}`` (the findings' cost of :mod:`analyzer.rules.totals`) and
``{bucket_width}`` (the width of a chart's time buckets, an SQL expression over the columns
``lo`` and ``hi``). The replay's graph renders them over the whole tables
(:data:`WHOLE_TABLES`); the API renders the very same text over filtered relations.
"""

from __future__ import annotations

from analyzer.rules.totals import finding_cost_sql

NICE_BUCKETS_S = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
BUCKETS_TARGET = 80
"""Charts over time get at most about this many buckets."""
DEFAULT_BUCKET_S = 60
"""The width when there is no span (no rows)."""


def bucket_width_sql(lo: str = "lo", hi: str = "hi") -> str:
    """The bucket rule as an SQL expression: the first width of :data:`NICE_BUCKETS_S` giving at
    most :data:`BUCKETS_TARGET` buckets from ``lo`` to ``hi`` (at least one second), else the
    largest; :data:`DEFAULT_BUCKET_S` when either is NULL. The one computation of the width."""
    span = f"greatest(epoch({hi}) - epoch({lo}), 1.0)"
    whens = " ".join(f"WHEN {span} / {w} <= {BUCKETS_TARGET} THEN {w}" for w in NICE_BUCKETS_S)
    return (
        f"(CASE WHEN {lo} IS NULL OR {hi} IS NULL THEN {DEFAULT_BUCKET_S} {whens} "
        f"ELSE {NICE_BUCKETS_S[-1]} END)"
    )


def sources(requests: str, runners: str, findings: str) -> dict[str, str]:
    """The placeholders of the summary SQL for three input relations."""
    return {
        "requests": requests,
        "runners": runners,
        "findings": findings,
        "finding_cost": finding_cost_sql(findings),
        "bucket_width": bucket_width_sql(),
    }


WHOLE_TABLES = sources("requests", "runners", "findings")
"""The placeholders over the whole tables (what the graph materialises)."""
