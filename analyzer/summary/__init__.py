"""Summary relations: the headline numbers and the dashboard's aggregates, computed once.

Each ``.sql`` file of this folder is a node of the replay's graph (:mod:`analyzer.replay.graph`,
kind ``summary``): one ``SELECT`` over its declared inputs (``requests``, ``runners``,
``findings``), made after the rules have written ``findings`` by :func:`build`, which runs the
graph's summary part (``summary_by_app``, ``summary_outcomes``, ...; docs/tables.md, "Summary
tables"). The SQL is written over placeholders (:mod:`analyzer.summary.template`): the graph
renders it over the whole tables, the API (:func:`statement`) over filtered relations (a time
window, an endpoint) when a view is narrower than an app. So every face (``check``'s summary,
the notebook's ``Analysis.summary()``, the dashboard) gets a number from one statement, and an
unfiltered page is a plain select.

:func:`headline` folds the rows of one or more apps into the dict of headline numbers whose
keys are the glossary's names.

Example:
    >>> from analyzer import summary
    >>> summary.build(con)  # doctest: +SKIP
    >>> summary.headline(summary.stored(con))["usd_wasted"]  # doctest: +SKIP
    2.94
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from analyzer.store import get_meta, quote_identifier, set_meta
from analyzer.summary.template import WHOLE_TABLES, bucket_width_sql, sources

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NAMES", "WHOLE_TABLES", "bucket_seconds", "build", "headline", "is_built",
           "sources", "statement", "stored", "stored_headline"]  # fmt: skip

NAMES = (
    "summary_by_app",
    "summary_outcomes",
    "summary_terminations",
    "summary_rules",
    "summary_requests_over_time",
    "summary_terminations_over_time",
)
"""The summary relations (tables), each ``<name>.sql`` in this folder."""


def statement(name: str, src: Mapping[str, str]) -> str:
    """The summary relation ``name``'s SELECT over ``src`` (placeholder -> relation expression;
    see :func:`sources`)."""
    from analyzer.replay import graph  # the graph loads this package's template

    return graph.by_name()[name].template.format(**src)


def bucket_seconds(start: datetime | None, end: datetime | None) -> int:
    """The bucket width (seconds) of a chart from ``start`` to ``end``: the graph's rule
    (:func:`analyzer.summary.template.bucket_width_sql`), evaluated."""
    import pandas as pd

    lo = None if start is None or pd.isna(start) else pd.Timestamp(start).to_pydatetime()
    hi = None if end is None or pd.isna(end) else pd.Timestamp(end).to_pydatetime()
    sql = f"SELECT {bucket_width_sql()} FROM (SELECT ?::TIMESTAMPTZ AS lo, ?::TIMESTAMPTZ AS hi)"
    con = duckdb.connect()
    try:
        return int(con.execute(sql, [lo, hi]).fetchall()[0][0])
    finally:
        con.close()


def build(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)write every summary relation from ``requests``, ``runners`` and ``findings``: the
    graph's summary part, and the fingerprint of their SQL (:func:`is_built`)."""
    from analyzer.replay import graph

    graph.run(con, None, part="summary")
    set_meta(con, "summary_key", _key())


def _key() -> str:
    from analyzer.replay import graph

    text = "\n".join(graph.by_name()[n].sql for n in NAMES)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_built(con: duckdb.DuckDBPyConnection) -> bool:
    """True when every summary relation exists, made by this code's SQL."""
    rows = con.execute(
        "SELECT count(DISTINCT table_name) FROM information_schema.tables "
        "WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
        [list(NAMES)],
    ).fetchall()
    return rows[0][0] == len(NAMES) and get_meta(con, "summary_key") == _key()


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


_HEADLINE_SUMS = (
    "requests", "attempts", "requests_succeeded", "requests_completed", "runners",
    "runners_terminated", "runners_killed_needlessly", "runners_setup_failed",
    "cold_start_seconds", "gpu_seconds_used", "gpu_seconds_wasted", "usd_wasted", "findings",
    "findings_error", "findings_warning", "findings_info", "runners_killed", "gpu_seconds",
    "cost_usd",
)  # fmt: skip


def _stored_counts(
    con: duckdb.DuckDBPyConnection, table: str, key: str, value: str
) -> dict[str, int]:
    """:func:`_counts` of a stored relation, in SQL (most first, then by key, NULL last)."""
    rows = con.execute(
        f"SELECT coalesce({key}::VARCHAR, 'nan'), sum({value}) AS n FROM {table} "
        f"GROUP BY {key} ORDER BY n DESC, {key} NULLS LAST"
    ).fetchall()
    return {str(k): int(v) for k, v in rows}


def stored_headline(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``headline(stored(con))`` in SQL over the stored relations, without pandas (what
    ``analyzer check`` reports; window_start/window_end are ``datetime`` or None)."""
    row = con.execute(
        "SELECT count(*), min(window_start), max(window_end), "
        + ", ".join(f"coalesce(sum({c}), 0)" for c in _HEADLINE_SUMS)
        + " FROM summary_by_app"
    ).fetchall()[0]
    t = dict(zip(_HEADLINE_SUMS, row[3:], strict=True))
    completed = int(t["requests_completed"])
    by_code = _stored_counts(con, "summary_rules", "code", "findings")
    return {
        "requests": int(t["requests"]),
        "attempts": int(t["attempts"]),
        "outcomes": _stored_counts(con, "summary_outcomes", "outcome", "requests"),
        "success_rate": float(t["requests_succeeded"]) / completed if completed else None,
        "window_start": row[1],
        "window_end": row[2],
        "runners": int(t["runners"]),
        "runners_terminated": int(t["runners_terminated"]),
        "runners_killed_needlessly": int(t["runners_killed_needlessly"]),
        "runners_setup_failed": int(t["runners_setup_failed"]),
        "terminations_by_reason": _stored_counts(
            con, "summary_terminations", "end_reason", "runners"
        ),
        "cold_start_seconds": float(t["cold_start_seconds"]),
        "gpu_seconds_used": float(t["gpu_seconds_used"]),
        "gpu_seconds_wasted": float(t["gpu_seconds_wasted"]),
        "usd_wasted": float(t["usd_wasted"]),
        "findings": int(t["findings"]),
        "findings_by_severity": {
            "error": int(t["findings_error"]),
            "warning": int(t["findings_warning"]),
            "info": int(t["findings_info"]),
        },
        "findings_by_code": dict(sorted(by_code.items())),
        "runners_killed": int(t["runners_killed"]),
        "gpu_seconds": float(t["gpu_seconds"]),
        "cost_usd": float(t["cost_usd"]),
    }
