"""Summary relations: the headline numbers and the dashboard's aggregates, computed once.

After the rules have written ``findings``, :func:`build` writes one small table per ``.sql``
file of this folder (``summary_by_app``, ``summary_outcomes``, ...; docs/tables.md,
"Summary tables"). Each file is one ``SELECT`` over placeholders for its inputs
(``{requests}``, ``{runners}``, ``{findings}``, and ``{finding_cost}``: the findings' cost of
:mod:`analyzer.rules.totals`). :func:`build` runs it over the whole tables; the API runs the
very same text over filtered relations (a time window, an endpoint) when a view is narrower
than an app. So every face (``check``'s summary, the notebook's ``Analysis.summary()``, the
dashboard) gets a number from one statement, and an unfiltered page is a plain select.

:func:`headline` folds the rows of one or more apps into the dict of headline numbers whose
keys are the glossary's names.

Example:
    >>> from analyzer import summary
    >>> summary.build(con)  # doctest: +SKIP
    >>> summary.headline(summary.stored(con))["usd_wasted"]  # doctest: +SKIP
    2.94
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analyzer.rules.totals import finding_cost_sql
from analyzer.store import quote_identifier, table_exists

HERE = Path(__file__).resolve().parent

NICE_BUCKETS_S = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
BUCKETS_TARGET = 80
"""Charts over time get at most about this many buckets."""


@dataclass(frozen=True)
class Relation:
    """One summary relation: its table name, its SQL file and, for charts over time, the
    input table and time column whose span sets the bucket width."""

    name: str
    file: str
    span_of: tuple[str, str, str] | None = None
    """(input placeholder, time column, condition) for bucketed relations."""

    @property
    def template(self) -> str:
        return _read(self.file)

    def sql(self, sources: Mapping[str, str]) -> str:
        """The relation's statement over ``sources`` (placeholder -> relation expression)."""
        return self.template.format(**sources)


RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in (
        Relation("summary_by_app", "by_app.sql"),
        Relation("summary_outcomes", "outcomes.sql"),
        Relation("summary_terminations", "terminations.sql"),
        Relation("summary_rules", "rules.sql"),
        Relation(
            "summary_requests_over_time",
            "requests_over_time.sql",
            ("requests", "received_at", "received_at IS NOT NULL"),
        ),
        Relation(
            "summary_terminations_over_time",
            "terminations_over_time.sql",
            ("runners", "ended_at", "end_kind = 'terminated' AND ended_at IS NOT NULL"),
        ),
    )
}

WHOLE_TABLES = {"requests": "requests", "runners": "runners", "findings": "findings"}


@cache
def _read(file: str) -> str:
    return (HERE / file).read_text(encoding="utf-8")


def sources(requests: str, runners: str, findings: str) -> dict[str, str]:
    """The placeholders of the summary SQL for three input relations."""
    return {
        "requests": requests,
        "runners": runners,
        "findings": findings,
        "finding_cost": finding_cost_sql(findings),
    }


def bucket_seconds(start: datetime | None, end: datetime | None) -> int:
    """A round bucket width (seconds) giving at most about 80 buckets over a window."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return 60
    span = max(float((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()), 1.0)
    for width in NICE_BUCKETS_S:
        if span / width <= BUCKETS_TARGET:
            return width
    return NICE_BUCKETS_S[-1]


def span_width(
    con: duckdb.DuckDBPyConnection, relation: Relation, source: str, params: Sequence[Any] = ()
) -> int:
    """The bucket width of a bucketed relation over ``source`` (its time column's span)."""
    assert relation.span_of is not None
    _, column, condition = relation.span_of
    span = con.execute(
        f"SELECT min({column}) AS lo, max({column}) AS hi FROM {source} WHERE {condition}",
        list(params),
    ).df()
    return bucket_seconds(span["lo"].iloc[0], span["hi"].iloc[0])


def build(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)write every summary relation from ``requests``, ``runners`` and ``findings``."""
    src = sources(**WHOLE_TABLES)
    for rel in RELATIONS.values():
        params: list[Any] = []
        select = rel.sql(src)
        if rel.span_of is not None:
            width = span_width(con, rel, rel.span_of[0])
            select = f"SELECT *, ?::INTEGER AS bucket_seconds FROM ({select})"
            params = [width, width]
        con.execute(f"CREATE OR REPLACE TABLE {quote_identifier(rel.name)} AS {select}", params)


def is_built(con: duckdb.DuckDBPyConnection) -> bool:
    """True when every summary relation exists."""
    return all(table_exists(con, name) for name in RELATIONS)


@dataclass(frozen=True)
class Rows:
    """The summary rows of a view (one or more apps): what :func:`headline` folds."""

    by_app: pd.DataFrame
    outcomes: pd.DataFrame
    terminations: pd.DataFrame
    rules: pd.DataFrame


def stored(con: duckdb.DuckDBPyConnection, apps: Sequence[str] | None = None) -> Rows:
    """The stored summary rows of ``apps`` (``None``: every app)."""
    where, params = "", []
    if apps:
        where = f"WHERE app IN ({', '.join('?' for _ in apps)})"
        params = list(apps)

    def rows(name: str) -> pd.DataFrame:
        return con.execute(f"SELECT * FROM {quote_identifier(name)} {where}", params).df()

    return Rows(
        rows("summary_by_app"),
        rows("summary_outcomes"),
        rows("summary_terminations"),
        rows("summary_rules"),
    )


def _counts(df: pd.DataFrame, key: str, value: str) -> dict[str, int]:
    if df.empty:
        return {}
    total = df.groupby(key, dropna=False)[value].sum().sort_values(ascending=False, kind="stable")
    return {str(k): int(v) for k, v in total.items()}


def headline(rows: Rows) -> dict[str, Any]:
    """The headline numbers of a view, keyed by their glossary names (docs/tables.md)."""
    a = rows.by_app

    def total(column: str) -> Any:
        return a[column].sum() if not a.empty else 0

    completed = int(total("requests_completed"))
    by_code = _counts(rows.rules, "code", "findings")
    return {
        "requests": int(total("requests")),
        "attempts": int(total("attempts")),
        "outcomes": _counts(rows.outcomes, "outcome", "requests"),
        "success_rate": float(total("requests_succeeded")) / completed if completed else None,
        "window_start": a["window_start"].min() if not a.empty else None,
        "window_end": a["window_end"].max() if not a.empty else None,
        "runners": int(total("runners")),
        "runners_terminated": int(total("runners_terminated")),
        "runners_killed_needlessly": int(total("runners_killed_needlessly")),
        "runners_setup_failed": int(total("runners_setup_failed")),
        "terminations_by_reason": _counts(rows.terminations, "end_reason", "runners"),
        "cold_start_seconds": float(total("cold_start_seconds")),
        "gpu_seconds_used": float(total("gpu_seconds_used")),
        "gpu_seconds_wasted": float(total("gpu_seconds_wasted")),
        "usd_wasted": float(total("usd_wasted")),
        "findings": int(total("findings")),
        "findings_by_severity": {
            "error": int(total("findings_error")),
            "warning": int(total("findings_warning")),
            "info": int(total("findings_info")),
        },
        "findings_by_code": dict(sorted(by_code.items())),
        "runners_killed": int(total("runners_killed")),
        "gpu_seconds": float(total("gpu_seconds")),
        "cost_usd": float(total("cost_usd")),
    }
