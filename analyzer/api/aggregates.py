"""Aggregates for overviews and charts: KPIs, counts over time, distributions, rankings.

All computed in SQL over whole tables (no Python loop per row), so they stay fast on
hundreds of thousands of requests; the dashboard caches each result once per database.

Example:
    >>> from analyzer.api import aggregates
    >>> aggregates.summary(con)["requests"]  # doctest: +SKIP
    1200
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from analyzer.api.filters import Filters, where_clause
from analyzer.api.queries import NO_FILTERS, TABLES, frame
from analyzer.store import get_meta, table_exists

DEFAULT_GPU_HOUR_USD = 2.0
"""Price of one GPU-hour used for money figures when the analysis recorded none."""

NICE_BUCKETS_S = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)


def _where(
    filters: Filters, table: str, *, time_column: str | None = None, prefix: str = ""
) -> tuple[str, list[Any]]:
    default_time, columns = TABLES[table]
    keep = filters.without(*(n for n in ("code", "severity", "endpoint") if n not in columns))
    return where_clause(
        keep, time_column=time_column or default_time, columns=columns, prefix=prefix
    )


def _and(where: str, condition: str) -> str:
    return f"{where} AND {condition}" if where else f"WHERE {condition}"


def gpu_hour_usd(con: duckdb.DuckDBPyConnection) -> float:
    """The price of a GPU-hour the analysis used (``meta.gpu_hour_usd``), else the default."""
    for key in ("gpu_hour_usd", "price_per_gpu_hour", "gpu_hour_price_usd"):
        value = get_meta(con, key) if table_exists(con, "meta") else None
        if value:
            try:
                return float(value)
            except ValueError:
                continue
    if table_exists(con, "findings"):
        row = con.execute(
            "SELECT sum(cost_usd) / nullif(sum(gpu_seconds), 0) * 3600 FROM findings "
            "WHERE cost_usd > 0 AND gpu_seconds > 0"
        ).fetchone()
        if row and row[0]:
            return float(row[0])
    return DEFAULT_GPU_HOUR_USD


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Any:
    row = con.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _counts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in con.execute(sql, params).fetchall()}


def summary(con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """Headline numbers of an incident (the Overview KPIs) as a plain dict.

    ``success_rate`` is successes over requests that completed in the window
    (``in_flight`` ones excluded); money is GPU-seconds wasted times :func:`gpu_hour_usd`.
    """
    where, params = _where(filters, "requests")
    # .df() rather than fetchone(): DuckDB needs pytz to return TIMESTAMPTZ as Python objects.
    req = (
        frame(
            con,
            f"""SELECT count(*), count(*) FILTER (outcome = 'success'),
                   count(*) FILTER (outcome <> 'in_flight'),
                   coalesce(sum(gpu_seconds), 0), coalesce(sum(gpu_seconds_wasted), 0),
                   coalesce(sum(runners_killed), 0), min(received_at),
                   max(coalesce(completed_at, received_at)), coalesce(sum(attempts), 0)
            FROM requests {where}""",
            params,
        )
        .iloc[0]
        .tolist()
    )
    n, ok, done, gpu, wasted, killed_by_requests, first, last, attempts = req
    outcomes = _counts(
        con, f"SELECT outcome, count(*) FROM requests {where} GROUP BY 1 ORDER BY 2 DESC", params
    )
    rwhere, rparams = _where(filters, "runners")
    runners = con.execute(
        f"""SELECT count(*), count(*) FILTER (end_kind = 'terminated'),
                   count(*) FILTER (end_kind = 'setup_failed'),
                   coalesce(sum(cold_start_s), 0)
            FROM runners {rwhere}""",
        rparams,
    ).fetchone()
    assert runners is not None
    kills = _counts(
        con,
        f"""SELECT coalesce(end_reason, 'unknown'), count(*) FROM runners
            {_and(rwhere, "end_kind = 'terminated'")} GROUP BY 1 ORDER BY 2 DESC""",
        rparams,
    )
    by_severity: dict[str, int] = {}
    by_code: dict[str, int] = {}
    if table_exists(con, "findings"):
        fwhere, fparams = _where(filters, "findings")
        by_severity = _counts(
            con, f"SELECT severity, count(*) FROM findings {fwhere} GROUP BY 1", fparams
        )
        by_code = _counts(
            con, f"SELECT code, count(*) FROM findings {fwhere} GROUP BY 1 ORDER BY 1", fparams
        )
    price = gpu_hour_usd(con)
    return {
        "requests": int(n),
        "attempts": int(attempts),
        "outcomes": outcomes,
        "success_rate": float(ok / done) if done else None,
        "window_start": first,
        "window_end": last,
        "runners": int(runners[0]),
        "runners_killed": int(runners[1]),
        "runners_setup_failed": int(runners[2]),
        "runners_killed_by_requests": int(killed_by_requests),
        "kills_by_reason": kills,
        "cold_start_seconds": float(runners[3]),
        "gpu_seconds": float(gpu),
        "gpu_seconds_wasted": float(wasted),
        "gpu_hour_usd": price,
        "usd_wasted": float(wasted) * price / 3600.0,
        "findings": sum(by_severity.values()),
        "findings_by_severity": by_severity,
        "findings_by_code": by_code,
        "events": int(_scalar(con, "SELECT count(*) FROM events", []) or 0),
        "rejected_lines": int(_scalar(con, "SELECT count(*) FROM rejected", []) or 0)
        if table_exists(con, "rejected")
        else 0,
    }


def bucket_seconds(start: datetime | None, end: datetime | None, target: int = 80) -> int:
    """A round bucket width (seconds) giving at most about ``target`` buckets over a window."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return 60
    span = max(float((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()), 1.0)
    for width in NICE_BUCKETS_S:
        if span / width <= target:
            return width
    return NICE_BUCKETS_S[-1]


def _over_time(
    con: duckdb.DuckDBPyConnection,
    table: str,
    time_column: str,
    group: str,
    filters: Filters,
    condition: str | None = None,
) -> pd.DataFrame:
    where, params = _where(filters, table, time_column=time_column)
    where = _and(where, f"{time_column} IS NOT NULL")
    if condition:
        where = _and(where, condition)
    span = frame(
        con,
        f"SELECT min({time_column}) AS lo, max({time_column}) AS hi FROM {table} {where}",
        params,
    )
    width = bucket_seconds(span["lo"].iloc[0], span["hi"].iloc[0])
    df = frame(
        con,
        f"""SELECT time_bucket(to_seconds(?::BIGINT), {time_column}) AS bucket,
                   coalesce(CAST({group} AS VARCHAR), 'unknown') AS "group", count(*) AS n
            FROM {table} {where} GROUP BY ALL ORDER BY 1, 2""",
        [width, *params],
    )
    df.attrs["bucket_seconds"] = width
    return df


def requests_over_time(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Requests received per time bucket and outcome: columns ``bucket, group, n``."""
    return _over_time(con, "requests", "received_at", "outcome", filters)


def terminations_over_time(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Runners terminated per time bucket and reason: columns ``bucket, group, n``."""
    return _over_time(con, "runners", "ended_at", "end_reason", filters, "end_kind = 'terminated'")


def findings_over_time(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, by: str = "severity"
) -> pd.DataFrame:
    """Findings per time bucket and ``by`` (``severity`` or ``code``): ``bucket, group, n``."""
    if not table_exists(con, "findings"):
        return pd.DataFrame(columns=["bucket", "group", "n"])
    group = "severity" if by == "severity" else "code || ' ' || name"
    return _over_time(con, "findings", "ts", group, filters)


def attempts_per_request(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """How many requests needed 1, 2, ... attempts, by outcome: ``attempts, outcome, requests``."""
    where, params = _where(filters, "requests")
    return frame(
        con,
        f"""SELECT attempts, outcome, count(*) AS requests FROM requests {where}
            GROUP BY ALL ORDER BY 1, 2""",
        params,
    )


def retry_chains(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int = 200
) -> pd.DataFrame:
    """Requests retried at least once, longest chains first, with each attempt's answer."""
    where, params = _where(filters, "requests", prefix="r.")
    return frame(
        con,
        f"""SELECT r.request_id, r.app, r.endpoint, r.attempts, r.outcome, r.final_status,
                   r.runners_killed, r.gpu_seconds_wasted,
                   string_agg(coalesce(CAST(a.status AS VARCHAR), a.error_type, '?'), ' → '
                              ORDER BY a.attempt) AS chain
            FROM requests r JOIN attempts a USING (request_id)
            {_and(where, "r.attempts > 1")}
            GROUP BY ALL
            ORDER BY r.attempts DESC, r.runners_killed DESC, r.request_id LIMIT ?""",
        [*params, int(limit)],
    )


def poison_requests(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int = 200
) -> pd.DataFrame:
    """Requests flagged R001 (the same failure on 3+ runners), with their cost."""
    if not table_exists(con, "findings"):
        return pd.DataFrame(columns=["request_id", "attempts", "runners_killed"])
    where, params = _where(filters.without("code", "severity"), "findings", prefix="f.")
    return frame(
        con,
        f"""SELECT f.request_id, f.app, f.endpoint, r.attempts, r.outcome, r.final_status,
                   r.runners_killed, r.gpu_seconds_wasted, f.message, f.finding_id
            FROM findings f LEFT JOIN requests r USING (request_id)
            {_and(where, "f.code = 'R001'")}
            ORDER BY r.runners_killed DESC NULLS LAST, f.request_id LIMIT ?""",
        [*params, int(limit)],
    )


def leaks_by_endpoint(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Cancellation leaks per app and endpoint: leaked child-seconds, wasted GPU-seconds."""
    where, params = _where(filters, "cancellations")
    return frame(
        con,
        f"""SELECT app, endpoint, count(*) AS cancellations,
                   count(*) FILTER (forwarded_at IS NULL AND kind = 'cancel') AS not_forwarded,
                   coalesce(sum(children_leaked), 0) AS children_leaked,
                   coalesce(sum(leaked_child_seconds), 0) AS leaked_child_seconds,
                   coalesce(sum(wasted_gpu_seconds), 0) AS wasted_gpu_seconds,
                   median(propagation_s) AS median_propagation_s
            FROM cancellations {where} GROUP BY ALL
            ORDER BY wasted_gpu_seconds DESC, leaked_child_seconds DESC""",
        params,
    )


def kills_by_request(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int = 200
) -> pd.DataFrame:
    """Which requests killed which runners: one row per request, most runners first."""
    where, params = _where(filters, "runners")
    return frame(
        con,
        f"""SELECT killed_by_request_id AS request_id, any_value(app) AS app,
                   count(*) AS runners_killed,
                   string_agg(runner_id, ', ' ORDER BY ended_at) AS runners,
                   string_agg(DISTINCT end_reason, ', ') AS reasons,
                   coalesce(sum(cold_start_s), 0) AS cold_start_s
            FROM runners {_and(where, "killed_by_request_id IS NOT NULL")}
            GROUP BY 1 ORDER BY runners_killed DESC, request_id LIMIT ?""",
        [*params, int(limit)],
    )


def cold_starts_by_app(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Per app: runners, how they ended, setup time paid (cold starts)."""
    where, params = _where(filters, "runners")
    return frame(
        con,
        f"""SELECT app, count(*) AS runners,
                   count(*) FILTER (end_kind = 'terminated') AS terminated,
                   count(*) FILTER (end_kind = 'setup_failed') AS setup_failed,
                   round(avg(setup_s), 2) AS mean_setup_s,
                   round(coalesce(sum(cold_start_s), 0), 1) AS cold_start_s
            FROM runners {where} GROUP BY ALL ORDER BY cold_start_s DESC""",
        params,
    )


def findings_by_rule(con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """Findings per rule: ``code, name, rule`` (``CODE · name``), ``severity``, ``findings``,
    ``runners_killed``, ``cost_usd``; costliest first."""
    if not table_exists(con, "findings"):
        return pd.DataFrame(columns=["code", "name", "rule", "severity", "findings"])
    where, params = _where(filters, "findings")
    return frame(
        con,
        f"""SELECT code, any_value(name) AS name, code || ' · ' || any_value(name) AS rule,
                   any_value(severity) AS severity, count(*) AS findings,
                   coalesce(sum(runners_killed), 0) AS runners_killed,
                   coalesce(sum(cost_usd), 0) AS cost_usd
            FROM findings {where} GROUP BY code ORDER BY cost_usd DESC, code""",
        params,
    )
