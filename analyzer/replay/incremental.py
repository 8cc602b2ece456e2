"""Incremental replay: after an append, replay only the apps whose events changed.

The replay records, per app, how many events it replayed and a digest of them (``replay_scope``:
``bit_xor`` of a hash of each event, so an appended, relinked or deleted event changes it). The
next replay under the same policy compares them with the events now imported:

- the apps whose count or digest differ are *changed*; the scope is the changed apps plus every
  app sharing a runner with one of them, to a fixpoint (a runner's clock offset, its silence
  after an answer and its end are facts of every app it served);
- the scope's events are those of its apps, plus app-less events of their requests and runners;
- the graph runs over them (``replay_events``) with the replay tables shadowed by temporary
  tables of the same name; what the rest of the day contributes to global facts comes in as
  ``replay_offsets_other`` (the other runners' clock offsets: the window) and
  ``replay_429_other`` (the other apps' 429 counts: the 429 behaviour);
- the scope's rows of each replay table are then replaced by the new ones.

A full replay is run instead when nothing was replayed before, the policy or the columns of
``events`` differ, an event
without an app changed, the scope holds most events anyway, or the 429 behaviour the logs show
changed (it is a fact of the whole day that every app's expectations depend on). Either way the
tables are the same as a full replay's (``tests/replay/test_incremental.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb

from analyzer.replay.policy import Policy
from analyzer.replay.schema import REPLAY_TABLES, SCOPE_TABLE, VIEWS
from analyzer.store import get_meta, quote_identifier, table_exists

MAX_SHARE = 0.5
"""Above this share of the events in scope, a full replay is cheaper."""

DIGESTS_SQL = """
CREATE OR REPLACE TEMP TABLE _rp_digest AS
SELECT app, count(*) AS events,
       bit_xor(hash(event_id, ts, event, source, status, error_type, request_id, runner_id,
                    attempt, child_id, kind, endpoint, stop_runner, needs_retry)) AS digest
FROM events GROUP BY app
"""
"""The digest covers each event's identity and the columns the importers' cross-file links
(``formats/link.py``, ``formats/otel_link.py``) change after an import; hashing whole rows
cost four times as much."""


@dataclass(frozen=True)
class Scope:
    """What an incremental replay replays: these apps (``None``: everything)."""

    apps: tuple[str, ...] | None

    @property
    def full(self) -> bool:
        return self.apps is None


FULL = Scope(None)


def replay_key(con: duckdb.DuckDBPyConnection, policy: Policy) -> str:
    """What every replayed row depends on besides the events' values: the policy and the
    columns of ``events``."""
    cols = con.execute(
        "SELECT list(column_name || ' ' || data_type ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_name = 'events'"
    ).fetchall()[0][0]
    text = policy.model_dump_json() + "|" + ",".join(cols or [])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_digests(con: duckdb.DuckDBPyConnection) -> None:
    """Per app, the count and digest of the events now imported (``_rp_digest``)."""
    con.execute(DIGESTS_SQL)


def plan(con: duckdb.DuckDBPyConnection, policy: Policy) -> Scope:
    """The scope of the next replay (needs :func:`record_digests` first)."""
    replayed = all(table_exists(con, t) for t in (*REPLAY_TABLES, SCOPE_TABLE))
    if not replayed or get_meta(con, "replay_key") != replay_key(con, policy):
        return FULL
    changed = [
        r[0]
        for r in con.execute(
            f"""SELECT coalesce(n.app, o.app) FROM _rp_digest n
                FULL OUTER JOIN {SCOPE_TABLE} o ON o.app IS NOT DISTINCT FROM n.app
                WHERE n.events IS DISTINCT FROM o.events OR n.digest IS DISTINCT FROM o.digest"""
        ).fetchall()
    ]
    if not changed:
        return Scope(())
    if None in changed:
        return FULL
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rp_app_runner AS SELECT DISTINCT app, runner_id "
        "FROM events WHERE app IS NOT NULL AND runner_id IS NOT NULL"
    )
    apps = set(changed)
    while True:  # apps sharing a runner with the scope join it (few apps: a short loop)
        more = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT b.app FROM _rp_app_runner a JOIN _rp_app_runner b "
                "USING (runner_id) WHERE list_contains(?::VARCHAR[], a.app)",
                [sorted(apps)],
            ).fetchall()
        }
        if more <= apps:
            break
        apps |= more
    con.execute("DROP TABLE _rp_app_runner")
    share = con.execute(
        "SELECT coalesce(sum(events) FILTER (WHERE list_contains(?::VARCHAR[], app)), 0) "
        "/ greatest(sum(events), 1) FROM _rp_digest",
        [sorted(apps)],
    ).fetchall()[0][0]
    return FULL if float(share) > MAX_SHARE else Scope(tuple(sorted(apps)))


def install_given(con: duckdb.DuckDBPyConnection) -> None:
    """The given ``clock_offsets`` / ``runners`` rows (:data:`analyzer.replay.graph.GIVEN_SOURCES`):
    empty, unless the caller created them before the replay (a shard worker does)."""
    for name, table in (
        ("replay_offsets_given", "clock_offsets"),
        ("replay_runners_given", "runners"),
    ):
        cols = ", ".join(f"{quote_identifier(c)} {t}" for c, t in REPLAY_TABLES[table])
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols})")


def install_sources(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """``replay_events`` and what the apps out of scope contribute (see the module docstring)."""
    install_given(con)
    if scope.full:
        con.execute("CREATE OR REPLACE TEMP VIEW replay_events AS SELECT * FROM events")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE replay_offsets_other (runner_id VARCHAR, offset_s DOUBLE)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE replay_429_other (retried BIGINT, not_retried BIGINT)"
        )
        return
    apps = list(scope.apps or ())
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rp_scope_keys AS
           SELECT DISTINCT request_id, runner_id FROM events
           WHERE list_contains(?::VARCHAR[], app)""",
        [apps],
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rp_scope_events AS
           SELECT * FROM events
           WHERE list_contains(?::VARCHAR[], app)
              OR (app IS NULL AND (request_id IN (SELECT request_id FROM _rp_scope_keys)
                                   OR runner_id IN (SELECT runner_id FROM _rp_scope_keys)))""",
        [apps],
    )
    con.execute("CREATE OR REPLACE TEMP VIEW replay_events AS SELECT * FROM _rp_scope_events")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE replay_offsets_other AS
           SELECT runner_id, offset_s FROM clock_offsets
           WHERE runner_id NOT IN (SELECT runner_id FROM _rp_scope_events
                                   WHERE runner_id IS NOT NULL)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE replay_429_other AS
            SELECT retried_429 AS retried, not_retried_429 AS not_retried FROM {SCOPE_TABLE}
            WHERE NOT list_contains(?::VARCHAR[], app)""",
        [apps],
    )


_KEYS = {
    "clock_offsets": "runner_id",
    "runners": "runner_id",
    "event_alignment": "event_id",
}


def merge(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """Replace the scope's rows of every persisted replay table by the shadow table's rows."""
    db = quote_identifier(str(con.execute("SELECT current_database()").fetchall()[0][0]))
    apps = list(scope.apps or ())
    for name in REPLAY_TABLES:
        if name in VIEWS:
            continue
        key = _KEYS.get(name, "request_id")
        table = f"{db}.main.{quote_identifier(name)}"
        if key == "event_id":
            old = (
                f"SELECT event_id FROM _rp_scope_events UNION ALL SELECT a.event_id FROM {table} a "
                "ANTI JOIN events e USING (event_id)"
            )
        elif key == "runner_id":
            old = (
                "SELECT runner_id FROM _rp_scope_events UNION ALL "
                f"SELECT runner_id FROM {db}.main.runners WHERE list_contains(?::VARCHAR[], app)"
            )
        else:
            old = (
                "SELECT request_id FROM _rp_scope_events UNION ALL "
                f"SELECT request_id FROM {db}.main.requests WHERE list_contains(?::VARCHAR[], app)"
            )
        params = [] if key == "event_id" else [apps]
        con.execute(f"DELETE FROM {table} WHERE {key} IN ({old})", params)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM temp.{quote_identifier(name)}")
        con.execute(f"DROP TABLE temp.{quote_identifier(name)}")
    con.execute("DROP TABLE _rp_scope_events; DROP TABLE _rp_scope_keys")


def record_scope(con: duckdb.DuckDBPyConnection, counts_429: str) -> None:
    """Write ``replay_scope`` from ``_rp_digest`` and the per-app 429 counts (``counts_429``:
    a table of ``app, retried, not_retried`` for every app, kept and replayed)."""
    con.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")
    con.execute(
        f"""CREATE TABLE {SCOPE_TABLE} AS
            SELECT d.app, d.events, d.digest,
                   coalesce(c.retried, 0)::INTEGER AS retried_429,
                   coalesce(c.not_retried, 0)::INTEGER AS not_retried_429
            FROM _rp_digest d LEFT JOIN {counts_429} c ON c.app IS NOT DISTINCT FROM d.app"""
    )
    con.execute("DROP TABLE _rp_digest")
