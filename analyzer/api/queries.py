"""DataFrames over the replay and findings tables (docs/tables.md), with filters.

Every function takes a DuckDB connection (or a cursor: the dashboard passes one cursor per
run) and a :class:`~analyzer.api.filters.Filters`; values are bound parameters. These are
the same functions the dashboard pages and the notebook API call.

Example:
    >>> import duckdb
    >>> from analyzer.api import queries
    >>> from analyzer.api.filters import Filters
    >>> con = duckdb.connect("analyzer.duckdb", read_only=True)  # doctest: +SKIP
    >>> queries.findings(con, Filters.of(severity="error")).head()  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any, Literal

import duckdb
import pandas as pd

from analyzer.api.filters import Filters, where_clause
from analyzer.store import quote_identifier, table_exists

NO_FILTERS = Filters()

# table -> (time column used by since/until, filterable columns)
TABLES: dict[str, tuple[str | None, frozenset[str]]] = {
    "requests": ("received_at", frozenset({"app", "endpoint"})),
    "attempts": ("dispatched_at", frozenset({"app", "endpoint"})),
    "runners": ("first_seen_at", frozenset({"app"})),
    "children": ("started_at", frozenset({"app", "endpoint"})),
    "cancellations": ("requested_at", frozenset({"app", "endpoint"})),
    "findings": ("ts", frozenset({"app", "endpoint", "code", "severity"})),
}


def frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | dict[str, Any] | None = None
) -> pd.DataFrame:
    """Run one parameterised query and return a DataFrame."""
    return con.execute(query, params or []).df()


def select(
    con: duckdb.DuckDBPyConnection,
    table: str,
    filters: Filters = NO_FILTERS,
    *,
    order_by: str,
    limit: int | None = None,
    extra: list[tuple[str, Any]] | None = None,
    exclude: tuple[str, ...] = (),
) -> pd.DataFrame:
    """``SELECT *`` from one of :data:`TABLES` with filters, an order and an optional limit
    (``exclude``: columns left out)."""
    time_column, columns = TABLES[table]
    where, params = where_clause(
        filters, time_column=time_column, columns=columns, extra=extra or []
    )
    star = f"* EXCLUDE ({', '.join(map(quote_identifier, exclude))})" if exclude else "*"
    sql = f"SELECT {star} FROM {quote_identifier(table)} {where} ORDER BY {order_by}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return frame(con, sql, params)


def requests(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = NO_FILTERS,
    *,
    outcome: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """One row per request (table ``requests``), oldest first."""
    extra = [("outcome = ?", outcome)] if outcome else []
    return select(
        con,
        "requests",
        filters,
        order_by="received_at NULLS FIRST, request_id",
        limit=limit,
        extra=extra,
    )


def request(con: duckdb.DuckDBPyConnection, request_id: str) -> dict[str, Any] | None:
    """The ``requests`` row of one request as a dict, or ``None`` when unknown."""
    df = frame(con, "SELECT * FROM requests WHERE request_id = ?", [request_id])
    return None if df.empty else {str(k): v for k, v in df.iloc[0].items()}


def attempts(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = NO_FILTERS,
    *,
    request_id: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """One row per attempt (table ``attempts``), by request then attempt number."""
    extra = [("request_id = ?", request_id)] if request_id else []
    return select(
        con, "attempts", filters, order_by="request_id, attempt", limit=limit, extra=extra
    )


def timeline(con: duckdb.DuckDBPyConnection, request_id: str) -> pd.DataFrame:
    """Every event of one request in causal order (table ``timeline``), lanes included."""
    return frame(con, "SELECT * FROM timeline WHERE request_id = ? ORDER BY seq", [request_id])


def raw_events(con: duckdb.DuckDBPyConnection, request_id: str) -> pd.DataFrame:
    """The imported events of one request as logged (unaligned), with file and line."""
    return frame(
        con,
        """SELECT event_id, ts, source, event, runner_id, attempt, status, error_type,
                  exc_type, outcome, child_id, reason, message, file, line_no
           FROM events WHERE request_id = ? ORDER BY ts, event_id""",
        [request_id],
    )


def runners(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int | None = None
) -> pd.DataFrame:
    """One row per runner (table ``runners``), by first appearance."""
    return select(
        con,
        "runners",
        filters.without("endpoint"),
        order_by="first_seen_at NULLS LAST, runner_id",
        limit=limit,
    )


def children(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = NO_FILTERS,
    *,
    request_id: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """One row per piece of child work (table ``children``)."""
    extra = [("request_id = ?", request_id)] if request_id else []
    return select(
        con, "children", filters, order_by="started_at, child_id", limit=limit, extra=extra
    )


def cancellations(
    con: duckdb.DuckDBPyConnection, filters: Filters = NO_FILTERS, *, limit: int | None = None
) -> pd.DataFrame:
    """One row per cancelled or disconnected request (table ``cancellations``)."""
    return select(con, "cancellations", filters, order_by="requested_at, request_id", limit=limit)


FindingOrder = Literal["time", "cost", "severity"]
_FINDING_ORDER = {
    "time": "ts NULLS LAST, finding_id",
    "cost": "coalesce(cost_usd, 0) DESC, coalesce(runners_killed, 0) DESC, "
    "coalesce(gpu_seconds, 0) DESC, finding_id",
    "severity": "CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
    "coalesce(cost_usd, 0) DESC, finding_id",
}


def findings(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = NO_FILTERS,
    *,
    request_id: str | None = None,
    order: FindingOrder = "time",
    limit: int | None = None,
    evidence: bool = True,
) -> pd.DataFrame:
    """The findings of the rules (table ``findings``); ``order`` by time, cost or severity.
    ``evidence=False`` leaves the evidence JSON out (a table of findings does not show it,
    and reading it for 130,000 findings to keep 5,000 took seconds on a fresh server)."""
    if not table_exists(con, "findings"):
        return pd.DataFrame(columns=["finding_id", "code", "name", "severity"])
    extra = [("request_id = ?", request_id)] if request_id else []
    return select(
        con,
        "findings",
        filters,
        order_by=_FINDING_ORDER[order],
        limit=limit,
        extra=extra,
        exclude=() if evidence else ("evidence",),
    )


def finding(con: duckdb.DuckDBPyConnection, finding_id: int) -> dict[str, Any] | None:
    """One finding as a dict (``evidence`` parsed into a list), or ``None``."""
    df = frame(con, "SELECT * FROM findings WHERE finding_id = ?", [int(finding_id)])
    if df.empty:
        return None
    row: dict[str, Any] = {str(k): v for k, v in df.iloc[0].items()}
    row["evidence"] = parse_evidence(row.get("evidence"))
    return row


def parse_evidence(value: Any) -> list[dict[str, Any]]:
    """The ``evidence`` JSON of a finding as a list of dicts (empty when missing)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    data = json.loads(value) if isinstance(value, str) else value
    if isinstance(data, dict):
        data = [data]
    return [dict(item) for item in data if isinstance(item, dict)]


def evidence(con: duckdb.DuckDBPyConnection, finding_id: int) -> pd.DataFrame:
    """The evidence of one finding joined to its events: file, line, event and fields."""
    item = finding(con, finding_id)
    ids = [int(e["event_id"]) for e in (item or {}).get("evidence", []) if e.get("event_id")]
    if not ids:
        return pd.DataFrame(columns=["event_id", "ts", "source", "event", "file", "line_no"])
    return frame(
        con,
        """SELECT event_id, ts, source, event, request_id, runner_id, attempt, status,
                  error_type, exc_type, outcome, reason, message, file, line_no
           FROM events WHERE list_contains(?, event_id) ORDER BY ts, event_id""",
        [ids],
    )


def sql(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | dict[str, Any] | None = None
) -> pd.DataFrame:
    """Any SQL over the database, values bound as ``?`` (list) or ``$name`` (dict) parameters.

    Example:
        >>> sql(con, "SELECT app, count(*) AS n FROM requests WHERE outcome = ? GROUP BY app",
        ...     ["failed"])  # doctest: +SKIP
    """
    return frame(con, query, params)


def distinct_values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[str]:
    """The sorted distinct non-null values of a column (for filter choices)."""
    if not table_exists(con, table):
        return []
    col = quote_identifier(column)
    rows = con.execute(
        f"SELECT DISTINCT {col} FROM {quote_identifier(table)} WHERE {col} IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]
