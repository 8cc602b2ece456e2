"""Staging: the gateway's attempts, runner events attributed to attempts, per-runner facts.

Narrow temporary tables (dropped at the end of the replay; wide columns are joined back from
``events`` by ``event_id`` only where needed, which keeps a replay of millions of events fast):

- ``_rp_window``: first and last aligned time of the window.
- ``_rp_pending``: a request listing's completions that end nothing (a retry may be queued).
- ``_rp_recv``: per request, ``request.received`` / ``request.completed`` / cancel / disconnect.
- ``_rp_att0``: the gateway's view of each attempt (dispatch and answer joined by attempt number;
  answers without a number matched to the latest dispatch on the same runner).
- ``_rp_rev``: runner events of a request (``event_id, event, request_id, runner_id, ts`` aligned,
  ``ts_raw``, ``child_id, resource_id``) with ``att``, the attempt they belong to. Runner events
  carry no attempt number: an event belongs to the latest attempt of the same request dispatched
  to the same runner at or before its aligned time (ASOF join, only for the few (request, runner)
  pairs with several attempts; the others are a plain join), so a retry that lands on the same
  runner again gets its own events; events before any such dispatch (the window cut the dispatch
  off) go to the first attempt on that runner. Child and resource events inherit the attempt of
  their ``child.started`` / ``resource.acquired``.
- ``_rp_rseen``: per runner, first/last sight, lifecycle events, machine type and the last sign
  of life (aligned), from one pass over ``events``.
"""

from __future__ import annotations

import duckdb

_ALIGN = "e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT))"

STAGE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _rp_disp AS
WITH d AS (
    SELECT request_id,
           coalesce(attempt, row_number() OVER (PARTITION BY request_id ORDER BY ts, event_id))
               ::INTEGER AS att,
           runner_id, ts, event_id, app, endpoint
    FROM events
    WHERE source = 'gateway' AND event = 'attempt.dispatched' AND request_id IS NOT NULL
)
SELECT request_id, att AS attempt, runner_id, ts, event_id, app, endpoint FROM d
QUALIFY row_number() OVER (PARTITION BY request_id, att ORDER BY ts, event_id) = 1;

CREATE OR REPLACE TEMP TABLE _rp_pending AS
-- a request listing's last answer, taken as the completion by the importer, ends nothing when
-- the policy retries its status and the cap is not reached: a retry may still be queued
SELECT e.event_id FROM events e
JOIN (SELECT request_id, max(attempt) AS n FROM _rp_disp GROUP BY request_id) d USING (request_id)
WHERE e.origin = 'fal_requests' AND e.inferred AND e.event = 'request.completed'
  AND e.status IN (SELECT status FROM policy_retried_status)
  AND d.n < (SELECT value FROM policy_scalar WHERE key = 'max_attempts');

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
FROM events
WHERE source = 'gateway' AND request_id IS NOT NULL
  AND event IN ('request.received', 'request.completed', 'request.cancel_requested',
                'request.client_disconnected')
  AND event_id NOT IN (SELECT event_id FROM _rp_pending)
GROUP BY request_id;

CREATE OR REPLACE TEMP TABLE _rp_ans AS
WITH later AS (  -- a listing without headers: the runner's last dispatch it shows
    SELECT runner_id, max(ts) AS last_dispatch FROM events
    WHERE origin = 'fal_requests' AND event = 'attempt.dispatched' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
raw0 AS (
    SELECT e.event_id, e.ts, e.event, e.request_id, e.runner_id, e.attempt, e.app, e.endpoint,
           e.status, e.error_type, e.needs_retry, e.stop_runner,
           -- x-fal-stop-runner: false is the documented explanation of a runner that took
           -- another attempt after answering 503 in a listing that carries no headers
           (e.stop_runner IS NULL AND e.origin = 'fal_requests' AND e.event = 'attempt.finished'
            AND e.status = 503 AND coalesce(l.last_dispatch > e.ts, false)) AS stop_inferred
    FROM events e LEFT JOIN later l ON l.runner_id = e.runner_id AND e.origin = 'fal_requests'
    WHERE e.source = 'gateway' AND e.event IN ('attempt.finished', 'attempt.failed')
      AND e.request_id IS NOT NULL
),
raw AS (
    SELECT * EXCLUDE (stop_runner, stop_inferred),
           CASE WHEN stop_inferred THEN false ELSE stop_runner END AS stop_runner,
           stop_inferred AS stop_runner_inferred
    FROM raw0
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
       a.status, a.error_type, a.needs_retry, a.stop_runner, a.stop_runner_inferred
FROM _rp_disp d FULL OUTER JOIN _rp_ans a ON d.request_id = a.request_id AND d.attempt = a.att;

CREATE OR REPLACE TEMP TABLE _rp_rev1 AS
WITH pairs AS (
    SELECT request_id, runner_id, count(*) AS n, min(attempt) AS first_att FROM _rp_att0
    WHERE runner_id IS NOT NULL GROUP BY request_id, runner_id
),
rev0 AS (
    SELECT e.event_id, e.event, e.request_id, e.runner_id, {_ALIGN} AS ts, e.ts AS ts_raw,
           e.child_id, e.resource_id, e.attempt AS own_att, p.n, p.first_att
    FROM events e
    LEFT JOIN clock_offsets o ON o.runner_id = e.runner_id
    LEFT JOIN pairs p ON p.request_id = e.request_id AND p.runner_id = e.runner_id
    WHERE e.source = 'runner' AND e.request_id IS NOT NULL
)
SELECT * EXCLUDE (own_att, n, first_att), coalesce(own_att, first_att) AS att0
FROM rev0 WHERE coalesce(n, 0) <= 1 OR own_att IS NOT NULL
UNION ALL
SELECT r.* EXCLUDE (own_att, n, first_att), coalesce(m.attempt, r.first_att) AS att0
FROM (SELECT * FROM rev0 WHERE n > 1 AND own_att IS NULL) r
ASOF LEFT JOIN (SELECT request_id, runner_id, attempt, dispatched_at FROM _rp_att0
                WHERE dispatched_at IS NOT NULL AND runner_id IS NOT NULL) m
  ON r.request_id = m.request_id AND r.runner_id = m.runner_id AND r.ts >= m.dispatched_at;

CREATE OR REPLACE TEMP TABLE _rp_rev AS
WITH cs AS (
    SELECT request_id, runner_id, child_id, arg_min(att0, ts) AS att FROM _rp_rev1
    WHERE event = 'child.started' AND child_id IS NOT NULL GROUP BY ALL
),
rs AS (
    SELECT request_id, runner_id, resource_id, arg_min(att0, ts) AS att FROM _rp_rev1
    WHERE event = 'resource.acquired' AND resource_id IS NOT NULL GROUP BY ALL
)
SELECT r.* EXCLUDE (att0),
       coalesce(CASE WHEN r.event LIKE 'child.%' THEN cs.att END,
                CASE WHEN r.event LIKE 'resource.%' THEN rs.att END, r.att0) AS att
FROM _rp_rev1 r
LEFT JOIN cs ON cs.request_id = r.request_id AND cs.runner_id = r.runner_id
            AND cs.child_id = r.child_id
LEFT JOIN rs ON rs.request_id = r.request_id AND rs.runner_id = r.runner_id
            AND rs.resource_id = r.resource_id;
DROP TABLE _rp_rev1;

CREATE OR REPLACE TEMP TABLE _rp_rseen AS
WITH g AS (
    SELECT runner_id, source = 'runner' AS is_runner,
           min(ts) AS first_ts, max(ts) AS last_ts,
           max(ts) FILTER (WHERE source = 'runner'
                           OR event IN ('attempt.dispatched', 'attempt.finished')
                           OR (event = 'runner.health_check' AND ok)) AS alive_ts,
           min(ts) FILTER (WHERE event = 'runner.started') AS started,
           min(ts) FILTER (WHERE event = 'runner.ready') AS ready,
           arg_min({{'ts': ts, 'event_id': event_id}}, ts)
               FILTER (WHERE event = 'runner.setup_failed') AS setup_failed,
           arg_min({{'ts': ts, 'event_id': event_id, 'reason': reason}}, ts)
               FILTER (WHERE event = 'runner.stopped') AS stopped,
           arg_min(machine_type, event <> 'runner.started') AS machine_type,
           arg_min(app, event <> 'runner.started') AS app
    FROM events WHERE runner_id IS NOT NULL
    GROUP BY runner_id, is_runner
),
a AS (
    SELECT g.*, to_microseconds(CAST(round(CASE WHEN is_runner THEN coalesce(o.offset_s, 0)
                                                ELSE 0 END * 1e6) AS BIGINT)) AS shift
    FROM g LEFT JOIN clock_offsets o USING (runner_id)
)
SELECT runner_id,
       min(first_ts - shift) AS first_seen_at, max(last_ts - shift) AS last_seen_at,
       max(alive_ts - shift) AS last_alive,
       min(started - shift) AS started_at, min(ready - shift) AS ready_at,
       min(CASE WHEN setup_failed IS NOT NULL THEN {{'ts': setup_failed.ts - shift,
                                                    'event_id': setup_failed.event_id}} END)
           AS setup_failed,
       min(CASE WHEN stopped IS NOT NULL THEN {{'ts': stopped.ts - shift,
                'event_id': stopped.event_id, 'reason': stopped.reason}} END) AS stopped,
       arg_min(machine_type, NOT is_runner) AS machine_type,
       arg_min(app, NOT is_runner) AS app
FROM a GROUP BY runner_id;

CREATE OR REPLACE TEMP TABLE _rp_window AS
SELECT least((SELECT min(ts) FROM events WHERE runner_id IS NULL), min(first_seen_at))
           AS window_start,
       greatest((SELECT max(ts) FROM events WHERE runner_id IS NULL), max(last_seen_at))
           AS window_end
FROM _rp_rseen;
"""

CLEANUP_SQL = """
DROP TABLE IF EXISTS _rp_window; DROP TABLE IF EXISTS _rp_recv; DROP TABLE IF EXISTS _rp_pending; DROP TABLE IF EXISTS _rp_disp;
DROP TABLE IF EXISTS _rp_ans; DROP TABLE IF EXISTS _rp_att0; DROP TABLE IF EXISTS _rp_rev;
DROP TABLE IF EXISTS _rp_rseen;
"""


def build_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Create the staging tables (needs ``clock_offsets`` and the policy tables)."""
    con.execute(STAGE_SQL)


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CLEANUP_SQL)
