"""Rebuild every replay table from the whole ``events`` table.

``build(con, policy)`` runs the replay's graph of relations (:mod:`analyzer.replay.graph`), which
drops and recreates ``clock_offsets``, ``attempts``, ``runners``, ``children``, ``resources``,
``cancellations``, ``requests``, ``event_alignment`` and ``timeline`` in one transaction,
set-based SQL only (no Python loop per request or event), and records the meta keys
``replay_events`` (how many events were replayed), ``policy_version``, ``replay_key`` (the
policy's and the events columns' fingerprint) and ``replay_429`` (the 429 behaviour the logs show). After an append
only the apps whose events changed are replayed (:mod:`analyzer.replay.incremental`); the
tables are the same as replaying everything at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb

from analyzer.replay import graph
from analyzer.replay import incremental as incr
from analyzer.replay.incremental import Scope
from analyzer.replay.policy import Policy, default_policy
from analyzer.replay.policy_sql import install_static_tables
from analyzer.replay.schema import REPLAY_TABLES, SCOPE_TABLE, VIEWS
from analyzer.store import get_meta, quote_identifier, set_meta, table_exists


@dataclass(frozen=True)
class ClockSkew:
    """One runner's estimated clock offset (runner minus gateway, seconds)."""

    runner_id: str
    offset_s: float
    lower_s: float | None
    upper_s: float | None
    samples: int


@dataclass(frozen=True)
class ReplayReport:
    """What a replay built, and what it learned about the logs."""

    events: int
    counts: dict[str, int]  # rows per replay table (views such as `timeline` not counted)
    behaviour_429: str
    policy_version: str
    seconds: float
    deviations: int
    inferred_terminations: int
    skew: list[ClockSkew] = field(default_factory=list)
    apps_replayed: tuple[str, ...] | None = None
    """The apps an incremental replay redid (``()``: nothing changed); None: a full replay."""

    @property
    def max_abs_skew_s(self) -> float:
        return max((abs(s.offset_s) for s in self.skew), default=0.0)

    def skew_summary(self) -> str:
        if not self.skew:
            return "no runner clock estimated"
        inconsistent = sum(
            1
            for s in self.skew
            if s.lower_s is not None and s.upper_s is not None and s.lower_s > s.upper_s
        )
        text = f"{len(self.skew)} runners, largest |offset| {self.max_abs_skew_s:.3f} s"
        if inconsistent:
            text += f", {inconsistent} with contradictory causal bounds"
        return text


class _Redo(Exception):
    """An incremental replay found a fact of the whole day changed: replay everything."""


def build(
    con: duckdb.DuckDBPyConnection, policy: Policy | None = None, *, incremental: bool = True
) -> ReplayReport:
    """(Re)build the replay tables from ``events``: only the apps whose events changed since
    the last replay when ``incremental`` allows it (:mod:`analyzer.replay.incremental`), else
    everything. The tables are the same either way."""
    policy = policy or default_policy()
    started = time.perf_counter()
    try:
        behaviour, scope = _build(con, policy, incremental)
    except _Redo:
        behaviour, scope = _build(con, policy, False)
    return _report(con, policy, behaviour, scope, time.perf_counter() - started)


def _build(con: duckdb.DuckDBPyConnection, policy: Policy, incremental: bool) -> tuple[str, Scope]:
    con.execute("BEGIN TRANSACTION")  # its own: do not call build() inside a transaction
    try:
        incr.record_digests(con)
        scope = incr.plan(con, policy) if incremental else incr.FULL
        if scope.apps == ():  # nothing changed
            behaviour = get_meta(con, "replay_429") or "unknown"
            con.execute("DROP TABLE _rp_digest")
        else:
            behaviour = _run(con, policy, scope)
        set_meta(con, "replay_events", str(_count(con, "events")))
        set_meta(con, "policy_version", policy.version)
        set_meta(con, "replay_key", incr.replay_key(con, policy))
        set_meta(con, "replay_429", behaviour)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return behaviour, scope


def _run(con: duckdb.DuckDBPyConnection, policy: Policy, scope: Scope) -> str:
    previous = get_meta(con, "replay_429")
    install_static_tables(con, policy)
    incr.install_sources(con, scope)
    seen: dict[str, str] = {}

    def note(rel: graph.Relation) -> None:
        if rel.name != "_rp_observed_429":
            return
        seen["429"] = graph.observed_429(con)
        if not scope.full and seen["429"] != previous:
            raise _Redo
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rp_429_all AS "
            "SELECT app, retried, not_retried FROM _rp_observed_429"
        )
        if not scope.full:
            con.execute(
                f"INSERT INTO _rp_429_all SELECT app, retried_429, not_retried_429 "
                f"FROM {SCOPE_TABLE} WHERE NOT list_contains(?::VARCHAR[], app)",
                [list(scope.apps or ())],
            )

    graph.run(con, policy, shadow=not scope.full, on_relation=note)
    if not scope.full:
        incr.merge(con, scope)
    incr.record_scope(con, "_rp_429_all")
    con.execute(
        "DROP VIEW replay_events; DROP TABLE replay_offsets_other; DROP TABLE replay_429_other; "
        "DROP TABLE _rp_429_all; DROP TABLE replay_offsets_given; DROP TABLE replay_runners_given"
    )
    return seen["429"]


def _report(
    con: duckdb.DuckDBPyConnection, policy: Policy, behaviour: str, scope: Scope, seconds: float
) -> ReplayReport:
    events = _count(con, "events")
    counts = {name: _count(con, name) for name in REPLAY_TABLES if name not in VIEWS}
    dev = con.execute(
        "SELECT count(*) FILTER (WHERE deviation), count(*) FILTER (WHERE termination_inferred) "
        "FROM attempts"
    ).fetchall()[0]
    skew = [
        ClockSkew(str(r[0]), float(r[1]), r[2], r[3], int(r[4]))
        for r in con.execute(
            "SELECT runner_id, offset_s, lower_s, upper_s, samples FROM clock_offsets "
            "ORDER BY runner_id"
        ).fetchall()
    ]
    return ReplayReport(
        events=events,
        counts=counts,
        behaviour_429=behaviour,
        policy_version=policy.version,
        seconds=seconds,
        deviations=int(dev[0]) if dev else 0,
        inferred_terminations=int(dev[1]) if dev else 0,
        skew=skew,
        apps_replayed=scope.apps,
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # fetchall, not fetchone: DuckDB 2.0 keeps a partly fetched result open on the connection
    rows = con.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchall()
    return int(rows[0][0])


def is_stale(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a replay table is missing or ``events`` changed since the last replay."""
    if not all(table_exists(con, name) for name in REPLAY_TABLES):
        return True
    return get_meta(con, "replay_events") != str(_count(con, "events"))


def ensure_replayed(
    con: duckdb.DuckDBPyConnection, policy: Policy | None = None
) -> ReplayReport | None:
    """Replay when stale (see :func:`is_stale`); returns the report, or None if up to date."""
    return build(con, policy) if is_stale(con) else None
