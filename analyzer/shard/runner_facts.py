"""A runner's facts over the whole day, for time slices (see docs/scale.md).

A time slice holds its own requests and a margin around its bounds, so a runner that lives
through several slices is only partly in each. Two of its facts need its whole life: its clock
offset (estimated from all its causal pairs) and its row in ``runners`` (its end, the request
that killed it, its cold start and price, which the slices' ``children``, ``cancellations``,
attempt costs and findings read). The coordinator computes both with the replay's own
relations (:mod:`analyzer.replay.graph`) over the whole database:

- **before the map**, ``clock_offsets`` (``_rp_roles``, ``_rp_pairs``, ``clock_offsets``: one
  pass over ``events``), which every slice takes as given (``replay_offsets_given``);
- **after the map**, ``runners`` (``_rp_rseen``, ``_rp_term``, ``runners``) over ``events`` and
  the union of the shards' ``attempts`` (a kill is a fact of an attempt, and attempts do not
  depend on ``runners``). A slice whose own view of a runner differs on a column its tables
  read is analysed again with the rows given (``replay_runners_given``); its attempts do not
  change, so one more round is enough.

SQL over whole tables only; the temporary relations shadow nothing the caller keeps (they are
dropped before the merge).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from analyzer.replay import graph
from analyzer.replay.incremental import install_given
from analyzer.replay.policy import Policy
from analyzer.replay.policy_sql import POLICY_TABLES, install_static_tables
from analyzer.store import quote_identifier

OFFSETS_FILE = "clock_offsets.parquet"
RUNNERS_FILE = "runners.parquet"
SEEN_FILE = "runners_seen.parquet"
"""A slice's own ``runners`` rows (all of them, not only those it owns), to compare."""

READ_COLUMNS = ("end_kind", "ended_at", "cold_start_s", "price_usd_per_gpu_hour")
"""The columns of ``runners`` the other replay tables and the rules read for any runner
(children and cancellations: ``ended_at``; attempt costs and R001: ``cold_start_s``; findings'
price). ``app`` is read only for runners with a cold start (the app's average cold start) or
that failed setup (L001, with their ``gpu_seconds``): compared for those only, since a runner
serving several apps is named after its first event's app, which a slice sees differently."""


def _sql_path(p: Path | str) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _files_sql(files: Sequence[str]) -> str:
    return "[" + ", ".join(_sql_path(f) for f in files) + "]"


def _temp(con: duckdb.DuckDBPyConnection, names: Sequence[str], policy: Policy) -> None:
    rels = graph.by_name()
    for name in names:
        graph.materialise(con, rels[name], policy)


def _cleanup(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> None:
    known = graph.by_name()
    for name in tables:
        if name in known and known[name].kind in graph.INTERMEDIATE:
            graph.drop(con, name)  # a temporary table or (inline) view
        else:
            con.execute(f"DROP TABLE IF EXISTS temp.{quote_identifier(name)}")
    con.execute("DROP VIEW IF EXISTS temp.replay_events")


def whole_day_offsets(con: duckdb.DuckDBPyConnection, root: Path, policy: Policy) -> Path:
    """Every runner's clock offset over the whole database, as Parquet under ``root``."""
    out = root / OFFSETS_FILE
    temps = ["_rp_roles", "_rp_pairs", "replay_offsets_given", "replay_runners_given"]
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW replay_events AS SELECT * FROM events")
        install_given(con)
        _temp(con, ["_rp_roles", "_rp_pairs"], policy)
        sql = graph.by_name()["clock_offsets"].sql
        con.execute(f"COPY ({sql}) TO {_sql_path(out)} (FORMAT parquet)")
    finally:
        _cleanup(con, temps)
    return out


def whole_day_runners(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    policy: Policy,
    attempts_files: Sequence[str],
    offsets: Path,
) -> Path:
    """Every runner's row of ``runners`` over the whole database (its events, the shards'
    attempts, the whole-day clock offsets), as Parquet under ``root``."""
    out = root / RUNNERS_FILE
    temps = [
        "clock_offsets",
        "_rp_attempts",
        "_rp_rseen",
        "_rp_term",
        "_rp_rend",
        "replay_offsets_given",
        "replay_runners_given",
        *POLICY_TABLES,
    ]
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW replay_events AS SELECT * FROM events")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE clock_offsets AS SELECT * FROM "
            f"read_parquet({_sql_path(offsets)})"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rp_attempts AS SELECT * FROM "
            f"read_parquet({_files_sql(attempts_files)}, union_by_name = true)"
        )
        install_given(con)
        install_static_tables(con, policy)
        _temp(con, ["_rp_rseen", "_rp_term", "_rp_rend"], policy)  # the inputs of runners
        sql = graph.by_name()["runners"].sql
        con.execute(f"COPY ({sql}) TO {_sql_path(out)} (FORMAT parquet)")
    finally:
        _cleanup(con, temps)
    return out


def stale_views(con: duckdb.DuckDBPyConnection, runners: Path, seen: dict[int, str]) -> list[int]:
    """The shards (of ``seen``: shard index -> its ``runners_seen.parquet``) whose view of a
    runner differs from the whole day's on a column other tables read (:data:`READ_COLUMNS`;
    ``app`` where it is read; ``gpu_seconds`` of runners that failed setup or startup)."""
    if not seen:
        return []
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM w.{c}" for c in READ_COLUMNS)
    failed = "(w.end_kind = 'setup_failed' OR w.end_reason IN ('setup_failed', 'startup_timeout'))"
    differs += (
        f" OR (({failed} OR w.cold_start_s IS NOT NULL OR s.cold_start_s IS NOT NULL)"
        " AND s.app IS DISTINCT FROM w.app)"
    )
    stale: list[int] = []
    for index, path in sorted(seen.items()):
        rows = con.execute(
            f"SELECT count(*) FROM read_parquet({_sql_path(path)}) s "
            f"JOIN read_parquet({_sql_path(runners)}) w USING (runner_id) "
            f"WHERE {differs} OR ({failed} AND s.gpu_seconds IS DISTINCT FROM w.gpu_seconds)"
        ).fetchall()
        if int(rows[0][0]) > 0:
            stale.append(index)
    return stale
