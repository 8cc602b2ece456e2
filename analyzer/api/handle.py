"""The notebook face: :class:`Analysis`, :func:`open_db` and :func:`load`.

An :class:`Analysis` wraps a read-only connection to an analysed database and offers
DataFrames (with filters), the incident's headline numbers, ad-hoc SQL and Plotly
figures. Its methods call the same functions as the dashboard pages.

Example:
    >>> import analyzer
    >>> a = analyzer.open_db()                      # the bundled sample incident
    >>> a.summary()["requests"]                     # doctest: +SKIP
    >>> a.findings(severity="error", order="cost").head()  # doctest: +SKIP
    >>> a.timeline_figure(a.findings(code="R001").request_id.iloc[0]).show()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analyzer.api import aggregates, figures, queries
from analyzer.api.database import PathLike, build_database, open_connection
from analyzer.api.filters import Choice, Filters, TimeBound
from analyzer.api.queries import FindingOrder


class Analysis:
    """An analysed database, read-only. Filters: ``app``, ``endpoint``, ``code``,
    ``severity`` (a value or a list), ``since`` (inclusive) / ``until`` (exclusive)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path | None = None,
        *,
        scratch_dir: Path | None = None,
    ) -> None:
        self.con = con
        self.path = path
        self._scratch_dir = scratch_dir  # a temporary directory this object owns

    def __repr__(self) -> str:
        return f"Analysis({str(self.path) if self.path else 'in-memory'!r})"

    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection. The database file stays, unless :func:`load` created it in
        a temporary directory: that directory is removed."""
        self.con.close()
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            self._scratch_dir = None

    # -- DataFrames -------------------------------------------------------------------
    def requests(
        self,
        *,
        app: Choice = None,
        endpoint: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        outcome: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Requests (one row each). ``a.requests(outcome="failed", app="acme/sdxl")``"""
        f = Filters.of(app=app, endpoint=endpoint, since=since, until=until)
        return queries.requests(self.con, f, outcome=outcome, limit=limit)

    def attempts(
        self,
        request_id: str | None = None,
        *,
        app: Choice = None,
        endpoint: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Attempts (one row per dispatch). ``a.attempts("req-42")``"""
        f = Filters.of(app=app, endpoint=endpoint, since=since, until=until)
        return queries.attempts(self.con, f, request_id=request_id, limit=limit)

    def timeline(self, request_id: str) -> pd.DataFrame:
        """One request's events in causal order, with lanes. ``a.timeline("req-42")``"""
        return queries.timeline(self.con, request_id)

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One request's row as a dict (``None`` if unknown)."""
        return queries.request(self.con, request_id)

    def runners(
        self,
        *,
        app: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Runners (one row each). ``a.runners(app="acme/sdxl")``"""
        return queries.runners(self.con, Filters.of(app=app, since=since, until=until), limit=limit)

    def cancellations(
        self,
        *,
        app: Choice = None,
        endpoint: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Cancelled or disconnected requests. ``a.cancellations(endpoint="/predict")``"""
        f = Filters.of(app=app, endpoint=endpoint, since=since, until=until)
        return queries.cancellations(self.con, f, limit=limit)

    def findings(
        self,
        *,
        app: Choice = None,
        endpoint: Choice = None,
        code: Choice = None,
        severity: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        request_id: str | None = None,
        order: FindingOrder = "time",
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Findings of the rules. ``a.findings(code=["S001", "R001"], order="cost")``"""
        f = Filters.of(
            app=app, endpoint=endpoint, code=code, severity=severity, since=since, until=until
        )
        return queries.findings(self.con, f, request_id=request_id, order=order, limit=limit)

    def finding(self, finding_id: int) -> dict[str, Any] | None:
        """One finding with its evidence list parsed. ``a.finding(1)["evidence"]``"""
        return queries.finding(self.con, finding_id)

    def evidence(self, finding_id: int) -> pd.DataFrame:
        """The events a finding rests on, with file and line. ``a.evidence(1)``"""
        return queries.evidence(self.con, finding_id)

    def summary(
        self, *, app: Choice = None, since: TimeBound = None, until: TimeBound = None
    ) -> dict[str, Any]:
        """Headline numbers: requests, success rate, runners killed, money wasted, findings.

        ``a.summary()["usd_wasted"]``
        """
        return aggregates.summary(self.con, Filters.of(app=app, since=since, until=until))

    def leaks_by_endpoint(
        self, *, app: Choice = None, since: TimeBound = None, until: TimeBound = None
    ) -> pd.DataFrame:
        """Cancellation leaks per app and endpoint (child-seconds, wasted GPU-seconds)."""
        return aggregates.leaks_by_endpoint(self.con, Filters.of(app=app, since=since, until=until))

    def sql(self, query: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Any SQL over the tables (docs/tables.md), values bound as parameters.

        ``a.sql("SELECT code, count(*) FROM findings WHERE app = ? GROUP BY 1", ["acme/sdxl"])``
        """
        return queries.sql(self.con, query, params)

    # -- figures ----------------------------------------------------------------------
    def timeline_figure(self, request_id: str) -> go.Figure:
        """A request's Gantt (gateway, attempts' runners, children; cancel and kill markers)."""
        return figures.timeline_figure(
            self.timeline(request_id), self.request(request_id), self.attempts(request_id)
        )

    def runners_figure(
        self,
        *,
        app: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
        max_runners: int = 300,
    ) -> go.Figure:
        """Runner lifecycles: setup, serving, how each ended."""
        return figures.runners_figure(
            self.runners(app=app, since=since, until=until), max_runners=max_runners
        )

    def findings_over_time_figure(
        self,
        *,
        app: Choice = None,
        code: Choice = None,
        severity: Choice = None,
        by: str = "severity",
    ) -> go.Figure:
        """Findings per time bucket, stacked by severity (or ``by="code"``)."""
        f = Filters.of(app=app, code=code, severity=severity)
        return figures.findings_over_time_figure(aggregates.findings_over_time(self.con, f, by=by))

    def requests_over_time_figure(self, *, app: Choice = None) -> go.Figure:
        """Requests received per time bucket, stacked by outcome."""
        return figures.requests_over_time_figure(
            aggregates.requests_over_time(self.con, Filters.of(app=app))
        )

    def terminations_over_time_figure(self, *, app: Choice = None) -> go.Figure:
        """Runner terminations per time bucket, stacked by reason."""
        return figures.terminations_over_time_figure(
            aggregates.terminations_over_time(self.con, Filters.of(app=app))
        )


def open_db(path: PathLike | None = None) -> Analysis:
    """Open an analysed database read-only (``None``: the bundled sample incident).

    Example:
        >>> a = open_db("incident.duckdb")  # doctest: +SKIP
    """
    con = open_connection(path)
    target = Path(path) if path is not None else None
    if target is None:
        rows = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()
        target = Path(rows[0][0]) if rows and rows[0][0] else None
    return Analysis(con, target)


def load(
    paths: PathLike | Iterable[PathLike], db: PathLike | None = None, *, workers: int = 1
) -> Analysis:
    """Import log files or folders into a database (a new temporary one when ``db`` is
    ``None``, removed by :meth:`Analysis.close`), analyse them, and open the result read-only.
    ``workers=N`` (N > 1) analyses in shards by app on N processes: the same answer
    (docs/scale.md).

    Example:
        >>> a = load(["logs/gateway.jsonl", "logs/runners/"])  # doctest: +SKIP
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    scratch = None
    if db is None:
        scratch = Path(tempfile.mkdtemp(prefix="analyzer-"))
        target = scratch / "analysis.duckdb"
        try:
            build_database(items, target, workers=workers)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    else:
        from analyzer import store
        from analyzer.api.database import import_and_analyze

        target = Path(db)
        con = store.connect(target)
        try:
            import_and_analyze(con, items, workers=workers)
        finally:
            con.close()
    return Analysis(open_connection(target), target, scratch_dir=scratch)
