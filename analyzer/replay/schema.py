"""The DDL of the replay tables, in one place (``docs/tables.md`` documents every column).

Each table is dropped and recreated from this list on every replay, then filled with
``INSERT INTO ... BY NAME SELECT ...`` so the column order and types are always these.
"""

from __future__ import annotations

import duckdb

from analyzer.store import quote_identifier

TS = "TIMESTAMPTZ"

REPLAY_TABLES: dict[str, list[tuple[str, str]]] = {
    "clock_offsets": [
        ("runner_id", "VARCHAR"),
        ("offset_s", "DOUBLE"),
        ("lower_s", "DOUBLE"),
        ("upper_s", "DOUBLE"),
        ("samples", "INTEGER"),
    ],
    "attempts": [
        ("request_id", "VARCHAR"),
        ("attempt", "INTEGER"),
        ("app", "VARCHAR"),
        ("endpoint", "VARCHAR"),
        ("runner_id", "VARCHAR"),
        ("dispatched_at", TS),
        ("handler_started_at", TS),
        ("handler_ended_at", TS),
        ("handler_outcome", "VARCHAR"),
        ("answered_at", TS),
        ("status", "INTEGER"),
        ("error_type", "VARCHAR"),
        ("exc_type", "VARCHAR"),
        ("exc_message", "VARCHAR"),
        ("needs_retry", "BOOLEAN"),
        ("stop_runner", "BOOLEAN"),
        ("expected_runner_impact", "VARCHAR"),
        ("expected_retry", "BOOLEAN"),
        ("runner_terminated", "BOOLEAN"),
        ("termination_inferred", "BOOLEAN"),
        ("terminated_at", TS),
        ("retried", "BOOLEAN"),
        ("requeue_reason", "VARCHAR"),
        ("deviation", "BOOLEAN"),
        ("deviation_reason", "VARCHAR"),
        ("gpu_seconds", "DOUBLE"),
        ("dispatched_event_id", "BIGINT"),
        ("answered_event_id", "BIGINT"),
        ("handler_end_event_id", "BIGINT"),
        ("terminated_event_id", "BIGINT"),
        # additions (documented in docs/tables.md)
        ("mode", "VARCHAR"),
        ("handler_status", "INTEGER"),
        ("error_class", "VARCHAR"),
        ("termination_reason", "VARCHAR"),
        ("needless_termination", "BOOLEAN"),
        ("machine_type", "VARCHAR"),
        ("gpu_seconds_wasted", "DOUBLE"),
        ("wasted_usd", "DOUBLE"),
        ("handler_started_event_id", "BIGINT"),
        ("legitimate_termination", "BOOLEAN"),
        ("stop_runner_inferred", "BOOLEAN"),
        ("price_usd_per_gpu_hour", "DOUBLE"),
    ],
    "runners": [
        ("runner_id", "VARCHAR"),
        ("app", "VARCHAR"),
        ("machine_type", "VARCHAR"),
        ("started_at", TS),
        ("ready_at", TS),
        ("setup_s", "DOUBLE"),
        ("first_seen_at", TS),
        ("last_seen_at", TS),
        ("requests_served", "INTEGER"),
        ("end_kind", "VARCHAR"),
        ("ended_at", TS),
        ("end_reason", "VARCHAR"),
        ("end_inferred", "BOOLEAN"),
        ("killed_by_request_id", "VARCHAR"),
        ("clock_offset_s", "DOUBLE"),
        ("clock_samples", "INTEGER"),
        ("gpu_seconds", "DOUBLE"),
        ("cold_start_s", "DOUBLE"),
        # additions
        ("killed_by_attempt", "INTEGER"),
        ("end_event_id", "BIGINT"),
        ("needless_termination", "BOOLEAN"),
        ("price_usd_per_gpu_hour", "DOUBLE"),
    ],
    "children": [
        ("request_id", "VARCHAR"),
        ("attempt", "INTEGER"),
        ("runner_id", "VARCHAR"),
        ("app", "VARCHAR"),
        ("endpoint", "VARCHAR"),
        ("child_id", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("name", "VARCHAR"),
        ("started_at", TS),
        ("ended_at", TS),
        ("outcome", "VARCHAR"),
        ("deadline_s", "DOUBLE"),
        ("parent_budget_s", "DOUBLE"),
        ("parent_ended_at", TS),
        ("ran_after_parent_s", "DOUBLE"),
        ("started_event_id", "BIGINT"),
        ("ended_event_id", "BIGINT"),
    ],
    "resources": [
        ("request_id", "VARCHAR"),
        ("runner_id", "VARCHAR"),
        ("resource_id", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("acquired_at", TS),
        ("released_at", TS),
        ("acquired_event_id", "BIGINT"),
        ("released_event_id", "BIGINT"),
        # additions
        ("attempt", "INTEGER"),
    ],
    "cancellations": [
        ("request_id", "VARCHAR"),
        ("app", "VARCHAR"),
        ("endpoint", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("requested_at", TS),
        ("attempt", "INTEGER"),
        ("runner_id", "VARCHAR"),
        ("forwarded_at", TS),
        ("received_at", TS),
        ("receive_outcome", "VARCHAR"),
        ("handler_stopped_at", TS),
        ("handler_outcome", "VARCHAR"),
        ("handler_was_running", "BOOLEAN"),
        ("propagation_s", "DOUBLE"),
        ("children", "INTEGER"),
        ("children_leaked", "INTEGER"),
        ("last_child_stopped_at", TS),
        ("leaked_child_seconds", "DOUBLE"),
        ("resources_unreleased", "INTEGER"),
        ("wasted_gpu_seconds", "DOUBLE"),
        ("requested_event_id", "BIGINT"),
        ("forwarded_event_id", "BIGINT"),
        ("received_event_id", "BIGINT"),
        ("handler_end_event_id", "BIGINT"),
    ],
    "requests": [
        ("request_id", "VARCHAR"),
        ("app", "VARCHAR"),
        ("endpoint", "VARCHAR"),
        ("mode", "VARCHAR"),
        ("received_at", TS),
        ("completed_at", TS),
        ("final_status", "INTEGER"),
        ("final_error_type", "VARCHAR"),
        ("outcome", "VARCHAR"),
        ("attempts", "INTEGER"),
        ("runners_killed", "INTEGER"),
        ("deadline_s", "DOUBLE"),
        ("deadline_at", TS),
        ("deadline_met", "BOOLEAN"),
        ("no_retry", "BOOLEAN"),
        ("cancel_requested_at", TS),
        ("disconnected_at", TS),
        ("duration_s", "DOUBLE"),
        ("gpu_seconds", "DOUBLE"),
        ("gpu_seconds_wasted", "DOUBLE"),
        ("partial", "BOOLEAN"),
        # additions
        ("first_seen_at", TS),
        ("wasted_usd", "DOUBLE"),
        ("received_event_id", "BIGINT"),
        ("completed_event_id", "BIGINT"),
        ("runners_killed_needlessly", "INTEGER"),
    ],
    "event_alignment": [
        ("event_id", "BIGINT"),
        ("ts", TS),
        ("attempt", "INTEGER"),
    ],
    "timeline": [
        ("request_id", "VARCHAR"),
        ("seq", "INTEGER"),
        ("ts", TS),
        ("ts_raw", TS),
        ("lane", "VARCHAR"),
        ("lane_kind", "VARCHAR"),
        ("attempt", "INTEGER"),
        ("runner_id", "VARCHAR"),
        ("child_id", "VARCHAR"),
        ("event", "VARCHAR"),
        ("detail", "VARCHAR"),
        ("event_id", "BIGINT"),
        # additions
        ("inferred", "BOOLEAN"),
    ],
}


SCOPE_TABLE = "replay_scope"
"""Per app: the events the last replay saw (count, digest) and its 429 counts; written by
``analyzer.replay.incremental`` to know what an incremental replay must redo."""

VIEWS = frozenset({"timeline"})
"""Replay relations that are views (computed when queried, from the persisted replay tables and
``events``): the timeline has one row per event, and filtering it on ``request_id`` reads one
request's rows only, so it is not worth materialising."""


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a table or view called ``name`` if it exists (whichever it is)."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ? "
        "AND table_schema = 'main'",
        [name],
    ).fetchall()
    for (kind,) in rows:
        what = "VIEW" if kind == "VIEW" else "TABLE"
        con.execute(f"DROP {what} IF EXISTS {quote_identifier(name)}")


def create_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop and recreate one replay table (empty)."""
    cols = ", ".join(f"{quote_identifier(c)} {t}" for c, t in REPLAY_TABLES[name])
    drop_relation(con, name)
    con.execute(f"CREATE TABLE {quote_identifier(name)} ({cols})")


def fill(con: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> None:
    """Recreate ``name`` from ``select_sql``: a table filled by column name, or (for
    :data:`VIEWS`) a view with exactly the documented columns and types."""
    if name in VIEWS:
        drop_relation(con, name)
        cols = ", ".join(
            f"CAST({quote_identifier(c)} AS {t}) AS {quote_identifier(c)}"
            for c, t in REPLAY_TABLES[name]
        )
        con.execute(f"CREATE VIEW {quote_identifier(name)} AS SELECT {cols} FROM ({select_sql})")
        return
    create_table(con, name)
    con.execute(f"INSERT INTO {quote_identifier(name)} BY NAME {select_sql}")
