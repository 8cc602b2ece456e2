"""Staging: aligned events, the gateway's attempts, and runner events attributed to attempts.

Temporary tables (dropped at the end of the replay):

- ``_rp_ev``: every event, ``ts`` aligned to the gateway clock (runner events shifted by their
  runner's offset), ``ts_raw`` as logged.
- ``_rp_window``: first and last aligned time of the window.
- ``_rp_recv``: per request, ``request.received`` / ``request.completed`` / cancel / disconnect.
- ``_rp_att0``: the gateway's view of each attempt (dispatch and answer joined by attempt number;
  answers without a number matched to the latest dispatch on the same runner).
- ``_rp_rev``: runner events of a request with ``att``, the attempt they belong to. Runner events
  carry no attempt number: an event belongs to the latest attempt of the same request dispatched
  to the same runner at or before its aligned time (ASOF join), so a retry that lands on the same
  runner again gets its own events; events before any such dispatch (the window cut the dispatch
  off) go to the first attempt on that runner. Child and resource events inherit the attempt of
  their ``child.started`` / ``resource.acquired``.
"""

from __future__ import annotations

import duckdb

_EV_COLS = (
    "event_id, source, event, app, endpoint, request_id, runner_id, attempt, message, mode, "
    "deadline_s, no_retry, status, error_type, needs_retry, stop_runner, reason, ok, machine_type, "
    "exc_type, outcome, child_id, kind, name, resource_id"
)

STAGE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _rp_ev AS
SELECT e.ts AS ts_raw,
       CASE WHEN o.offset_s IS NULL THEN e.ts
            ELSE e.ts - to_microseconds(CAST(round(o.offset_s * 1e6) AS BIGINT)) END AS ts,
       {", ".join("e." + c.strip() for c in _EV_COLS.split(","))}
FROM events e
LEFT JOIN clock_offsets o ON e.source = 'runner' AND e.runner_id = o.runner_id;

CREATE OR REPLACE TEMP TABLE _rp_window AS
SELECT min(ts) AS window_start, max(ts) AS window_end FROM _rp_ev;

CREATE OR REPLACE TEMP TABLE _rp_recv AS
SELECT request_id,
       min(ts) FILTER (WHERE event = 'request.received') AS received_at,
       arg_min({{'event_id': event_id, 'mode': mode, 'deadline_s': deadline_s,
                 'no_retry': no_retry, 'app': app, 'endpoint': endpoint}}, ts)
           FILTER (WHERE event = 'request.received') AS recv,
       max(ts) FILTER (WHERE event = 'request.completed') AS completed_at,
       arg_max({{'event_id': event_id, 'status': status, 'error_type': error_type}}, ts)
           FILTER (WHERE event = 'request.completed') AS done,
       arg_min({{'ts': ts, 'event_id': event_id}}, ts)
           FILTER (WHERE event = 'request.cancel_requested') AS cancel,
       arg_min({{'ts': ts, 'event_id': event_id}}, ts)
           FILTER (WHERE event = 'request.client_disconnected') AS disconnect
FROM _rp_ev
WHERE source = 'gateway' AND request_id IS NOT NULL
  AND event IN ('request.received', 'request.completed', 'request.cancel_requested',
                'request.client_disconnected')
GROUP BY request_id;

CREATE OR REPLACE TEMP TABLE _rp_disp AS
SELECT request_id,
       coalesce(attempt, row_number() OVER (PARTITION BY request_id ORDER BY ts, event_id))::INTEGER
           AS attempt,
       runner_id, ts, event_id, app, endpoint
FROM _rp_ev
WHERE source = 'gateway' AND event = 'attempt.dispatched' AND request_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY request_id, attempt ORDER BY ts, event_id) = 1;

CREATE OR REPLACE TEMP TABLE _rp_ans AS
WITH raw AS (
    SELECT * FROM _rp_ev
    WHERE source = 'gateway' AND event IN ('attempt.finished', 'attempt.failed')
      AND request_id IS NOT NULL
),
numbered AS (
    SELECT r.*, r.attempt AS att FROM raw r WHERE r.attempt IS NOT NULL
    UNION ALL
    SELECT r.*, d.attempt AS att FROM (SELECT * FROM raw WHERE attempt IS NULL) r
    ASOF LEFT JOIN _rp_disp d
      ON r.request_id = d.request_id AND r.runner_id = d.runner_id AND r.ts >= d.ts
)
SELECT * FROM numbered WHERE att IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY request_id, att ORDER BY ts, event_id) = 1;

CREATE OR REPLACE TEMP TABLE _rp_att0 AS
SELECT coalesce(d.request_id, a.request_id) AS request_id,
       coalesce(d.attempt, a.att) AS attempt,
       coalesce(d.runner_id, a.runner_id) AS runner_id,
       coalesce(d.app, a.app) AS app,
       coalesce(d.endpoint, a.endpoint) AS endpoint,
       d.ts AS dispatched_at, d.event_id AS dispatched_event_id,
       a.ts AS answered_at, a.event_id AS answered_event_id, a.event AS answer_event,
       a.status, a.error_type, a.needs_retry, a.stop_runner
FROM _rp_disp d FULL OUTER JOIN _rp_ans a ON d.request_id = a.request_id AND d.attempt = a.att;

CREATE OR REPLACE TEMP TABLE _rp_rev AS
WITH r AS (
    SELECT * FROM _rp_ev
    WHERE source = 'runner' AND request_id IS NOT NULL
),
firsts AS (
    SELECT request_id, runner_id, min(attempt) AS attempt FROM _rp_att0
    WHERE runner_id IS NOT NULL GROUP BY request_id, runner_id
),
matched AS (
    SELECT r.*, m.attempt AS m_att FROM r
    ASOF LEFT JOIN (SELECT request_id, runner_id, attempt, dispatched_at FROM _rp_att0
                    WHERE dispatched_at IS NOT NULL AND runner_id IS NOT NULL) m
      ON r.request_id = m.request_id AND r.runner_id = m.runner_id AND r.ts >= m.dispatched_at
),
direct AS (
    SELECT m.*, coalesce(m.attempt, m.m_att, f.attempt) AS att0
    FROM matched m LEFT JOIN firsts f
      ON m.request_id = f.request_id AND m.runner_id = f.runner_id
)
SELECT * EXCLUDE (m_att, att0),
       CASE WHEN child_id IS NOT NULL AND event LIKE 'child.%' THEN
                coalesce(first_value(att0) OVER (
                    PARTITION BY request_id, runner_id, child_id
                    ORDER BY (event = 'child.started') DESC, ts, event_id), att0)
            WHEN resource_id IS NOT NULL AND event LIKE 'resource.%' THEN
                coalesce(first_value(att0) OVER (
                    PARTITION BY request_id, runner_id, resource_id
                    ORDER BY (event = 'resource.acquired') DESC, ts, event_id), att0)
            ELSE att0 END AS att
FROM direct;
"""

CLEANUP_SQL = """
DROP TABLE IF EXISTS _rp_ev; DROP TABLE IF EXISTS _rp_window; DROP TABLE IF EXISTS _rp_recv;
DROP TABLE IF EXISTS _rp_disp; DROP TABLE IF EXISTS _rp_ans; DROP TABLE IF EXISTS _rp_att0;
DROP TABLE IF EXISTS _rp_rev;
"""


def build_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Create the staging tables (needs ``clock_offsets``)."""
    con.execute(STAGE_SQL)


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CLEANUP_SQL)
