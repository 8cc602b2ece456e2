"""Aggregates for overviews and charts: KPIs, counts over time, distributions, rankings.

All computed in SQL over whole tables (no Python loop per row), so they stay fast on
millions of requests; the dashboard caches each result once per database. The headline
numbers and the unfiltered charts over time are plain selects from the summary relations
(:mod:`analyzer.summary`), computed once after the rules; a narrower view (a time window,
an endpoint, a rule) runs the same statements over the rows it keeps.

Example:
    >>> from analyzer.api import aggregates
    >>> aggregates.summary(con)["requests"]  # doctest: +SKIP
    1200
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from analyzer import summary as summaries
from analyzer.api.filters import Filters, where_clause
from analyzer.api.queries import NO_FILTERS, TABLES, frame, select
from analyzer.store import table_exists
from analyzer.summary import bucket_seconds
from analyzer.summary.template import bucket_width_sql

__all__ = ["bucket_seconds", "summary"]


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


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Any:
    rows = con.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def _stored_view(con: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    """True when the stored summary relations answer ``filters`` (nothing narrower than apps)."""
    return not filters.without("app").active() and summaries.is_built(con)


def _live_rows(con: duckdb.DuckDBPyConnection, filters: Filters) -> summaries.Rows:
    """The summary relations' statements over the rows ``filters`` keep."""
    rq, rq_params = _where(filters, "requests")
    rn, rn_params = _where(filters, "runners")
    fd, fd_params = _where(filters, "findings")
    ctes = (
        f"WITH f_requests AS (SELECT * FROM requests {rq}), "
        f"f_runners AS (SELECT * FROM runners {rn}), "
        f"f_findings AS (SELECT * FROM findings {fd}) "
    )
    params = [*rq_params, *rn_params, *fd_params]
    src = summaries.sources("f_requests", "f_runners", "f_findings")

    def rows(name: str) -> pd.DataFrame:
        sql = summaries.statement(name, src)
        return frame(con, f"{ctes} SELECT * FROM ({sql})", params)

    return summaries.Rows(
        rows("summary_by_app"),
        rows("summary_outcomes"),
        rows("summary_terminations"),
        rows("summary_rules"),
    )


def summary_rows(con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS) -> summaries.Rows:
    """The summary rows of a view: the stored ones when at most apps are chosen, else the
    same statements over the filtered rows."""
    if _stored_view(con, filters):
        return summaries.stored(con, filters.app)
    return _live_rows(con, filters)


def summary(con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """Headline numbers of an incident (the Overview KPIs) as a plain dict, keyed by the
    glossary's names (docs/tables.md, "Headline numbers"): for the whole database, the same
    numbers as the ``summary`` of ``analyzer check --format json``.

    ``success_rate`` is successes over requests that completed (``in_flight`` excluded);
    ``usd_wasted`` is the replay's ``requests.wasted_usd`` summed (each attempt at its
    runner's price); ``runners_killed``, ``gpu_seconds``, ``cost_usd`` are the findings' cost,
    each kill and GPU-second once across rules.
    """
    numbers = summaries.headline(summary_rows(con, filters))
    numbers["events"] = int(_scalar(con, "SELECT count(*) FROM events", []) or 0)
    numbers["rejected_lines"] = (
        int(_scalar(con, "SELECT count(*) FROM rejected", []) or 0)
        if table_exists(con, "rejected")
        else 0
    )
    return numbers


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
    width = int(
        _scalar(
            con,
            f"SELECT {bucket_width_sql()} FROM (SELECT min({time_column}) AS lo, "
            f"max({time_column}) AS hi FROM {table} {where})",
            params,
        )
    )
    df = frame(
        con,
        f"""SELECT time_bucket(to_seconds(?::BIGINT), {time_column}) AS bucket,
                   coalesce(CAST({group} AS VARCHAR), 'unknown') AS "group", count(*) AS n
            FROM {table} {where} GROUP BY ALL ORDER BY 1, 2""",
        [width, *params],
    )
    df.attrs["bucket_seconds"] = width
    return df


def _stored_over_time(con: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    df = frame(
        con,
        f"""SELECT bucket, "group", sum(n)::BIGINT AS n, any_value(bucket_seconds) AS width
            FROM {relation} GROUP BY ALL ORDER BY 1, 2""",
    )
    df.attrs["bucket_seconds"] = int(df["width"].iloc[0]) if not df.empty else 60
    return df.drop(columns="width")


def requests_over_time(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Requests received per time bucket and outcome: columns ``bucket, group, n``."""
    if not filters.active() and summaries.is_built(con):
        return _stored_over_time(con, "summary_requests_over_time")
    return _over_time(con, "requests", "received_at", "outcome", filters)


def terminations_over_time(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Runners terminated per time bucket and reason: columns ``bucket, group, n``."""
    if not filters.active() and summaries.is_built(con):
        return _stored_over_time(con, "summary_terminations_over_time")
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


PROPAGATION_BINS = 40


def cancellation_totals(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS
) -> dict[str, Any]:
    """The Cancellations page's headline: how many, cancels never forwarded, median
    propagation, leaked child time and GPU time after the cancel (one aggregate in SQL)."""
    where, params = _where(filters, "cancellations")
    cur = con.execute(
        f"""SELECT count(*) AS cancellations,
                   count(*) FILTER (kind = 'cancel' AND forwarded_at IS NULL) AS not_forwarded,
                   median(propagation_s) AS median_propagation_s,
                   coalesce(sum(leaked_child_seconds), 0) AS leaked_child_seconds,
                   coalesce(sum(wasted_gpu_seconds), 0) AS wasted_gpu_seconds
            FROM cancellations {where}""",
        params,
    )
    names = [d[0] for d in cur.description or []]
    return dict(zip(names, cur.fetchall()[0], strict=True))


def propagation_histogram(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, bins: int = PROPAGATION_BINS
) -> pd.DataFrame:
    """Cancel propagation (seconds) in ``bins`` equal bins from its minimum to its maximum:
    ``lo``, ``hi``, ``n`` (a chart of a million cancellations ships 40 bars, not the values)."""
    where, params = _where(filters, "cancellations")
    return frame(
        con,
        f"""WITH v AS (SELECT propagation_s AS x FROM cancellations
                       {_and(where, "propagation_s IS NOT NULL")}),
            b AS (SELECT min(x) AS lo, greatest(max(x) - min(x), 1e-9) / ? AS w FROM v)
            SELECT b.lo + k * b.w AS lo, b.lo + (k + 1) * b.w AS hi, count(*) AS n
            FROM (SELECT least(floor((v.x - b.lo) / b.w)::BIGINT, ? - 1) AS k FROM v, b) t, b
            GROUP BY k, b.lo, b.w ORDER BY k""",
        [*params, bins, bins],
    )


def worst_cancellations(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int = 50
) -> pd.DataFrame:
    """The cancellations that left the most GPU time running after them (then leaked child
    time), worst first."""
    return select(
        con,
        "cancellations",
        filters,
        order_by="wasted_gpu_seconds DESC NULLS LAST, leaked_child_seconds DESC NULLS LAST, "
        "requested_at, request_id",
        limit=limit,
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
                   count(*) FILTER (needless_termination) AS runners_killed_needlessly,
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
    ``runners_killed``, ``cost_usd`` (each rule's own sums); costliest first."""
    if not table_exists(con, "findings"):
        return pd.DataFrame(columns=["code", "name", "rule", "severity", "findings"])
    if _stored_view(con, filters):
        where, params = "", []
        if filters.app:
            where, params = (
                f"WHERE app IN ({', '.join('?' for _ in filters.app)})",
                list(filters.app),
            )
        source = f"(SELECT * FROM summary_rules {where})"
    else:
        fwhere, params = _where(filters, "findings")
        sql = summaries.statement(
            "summary_rules", {"findings": f"(SELECT * FROM findings {fwhere})"}
        )
        source = f"({sql})"
    return frame(
        con,
        f"""SELECT code, any_value(name) AS name, code || ' · ' || any_value(name) AS rule,
                   any_value(severity) AS severity, sum(findings)::BIGINT AS findings,
                   sum(runners_killed)::BIGINT AS runners_killed, sum(cost_usd) AS cost_usd
            FROM {source} GROUP BY code ORDER BY cost_usd DESC, code""",
        params,
    )
