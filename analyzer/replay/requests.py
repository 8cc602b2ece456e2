"""The ``requests`` table: one row per request id seen in any event.

Outcome, first match: ``in_flight`` (no ``request.completed`` in the window and no cancel or
disconnect), ``disconnected``, ``cancelled`` (a cancel and a non-2xx or no answer),
``success`` (2xx), ``deadline_exceeded`` (504 at or after the caller's deadline), ``client_error``
(4xx), else ``failed``. ``partial``: the request's ``request.received`` is not in the window.
"""

from __future__ import annotations

import duckdb

from analyzer.replay.schema import fill

REQUESTS_SELECT = """
WITH seen AS (
    SELECT request_id, min(ts) AS ts, arg_min(event_id, ts) AS event_id FROM (
        SELECT request_id, min(ts) AS ts, arg_min(event_id, ts) AS event_id FROM events
        WHERE request_id IS NOT NULL AND source <> 'runner' GROUP BY request_id
        UNION ALL
        SELECT request_id, min(ts), arg_min(event_id, ts) FROM _rp_rev GROUP BY request_id
    ) GROUP BY request_id
),
ids AS (
    SELECT s.request_id, s.ts AS first_seen_at, s.event_id AS first_event_id FROM seen s
),
att AS (
    SELECT request_id, max(attempt) AS n, count(*) FILTER (WHERE runner_terminated) AS killed
    FROM attempts GROUP BY request_id
),
j AS (
    SELECT i.*, coalesce(r.recv.app, fa.app) AS app, coalesce(r.recv.endpoint, fa.endpoint)
               AS endpoint, r.received_at, r.completed_at, r.recv, r.done, r.cancel, r.disconnect,
           att.n, att.killed, c.gpu, c.wasted, c.usd,
           r.received_at + to_microseconds(CAST(round(r.recv.deadline_s * 1e6) AS BIGINT))
               AS deadline_at
    FROM ids i
    LEFT JOIN _rp_recv r USING (request_id)
    LEFT JOIN att USING (request_id)
    LEFT JOIN (SELECT request_id, any_value(app) AS app, any_value(endpoint) AS endpoint
               FROM _rp_att0 GROUP BY request_id) fa USING (request_id)
    LEFT JOIN _rp_rcost c USING (request_id)
),
fb AS (  -- app and endpoint of requests the gateway never named: from their first event
    SELECT event_id, app, endpoint FROM events
    WHERE event_id IN (SELECT first_event_id FROM j WHERE app IS NULL)
)
SELECT request_id,
       coalesce(j.app, fb.app) AS app, coalesce(j.endpoint, fb.endpoint) AS endpoint,
       recv.mode AS mode, received_at, completed_at,
       done.status AS final_status, done.error_type AS final_error_type,
       CASE WHEN completed_at IS NULL AND cancel IS NULL AND disconnect IS NULL THEN 'in_flight'
            WHEN disconnect IS NOT NULL AND NOT coalesce(done.status BETWEEN 200 AND 299, false)
                 THEN 'disconnected'
            WHEN cancel IS NOT NULL AND NOT coalesce(done.status BETWEEN 200 AND 299, false)
                 THEN 'cancelled'
            WHEN done.status BETWEEN 200 AND 299 THEN 'success'
            WHEN done.status = 504 AND deadline_at IS NOT NULL AND completed_at >= deadline_at
                 THEN 'deadline_exceeded'
            WHEN done.status BETWEEN 400 AND 499 THEN 'client_error'
            ELSE 'failed' END AS outcome,
       coalesce(n, 0)::INTEGER AS attempts,
       coalesce(killed, 0)::INTEGER AS runners_killed,
       recv.deadline_s AS deadline_s, deadline_at,
       CASE WHEN deadline_at IS NULL THEN NULL
            WHEN completed_at IS NULL THEN
                 CASE WHEN deadline_at < (SELECT window_end FROM _rp_window) THEN false END
            ELSE completed_at <= deadline_at END AS deadline_met,
       recv.no_retry AS no_retry,
       cancel.ts AS cancel_requested_at, disconnect.ts AS disconnected_at,
       epoch(completed_at) - epoch(received_at) AS duration_s,
       coalesce(gpu, 0) AS gpu_seconds, coalesce(wasted, 0) AS gpu_seconds_wasted,
       received_at IS NULL AS partial,
       first_seen_at, coalesce(usd, 0) AS wasted_usd,
       recv.event_id AS received_event_id, done.event_id AS completed_event_id
FROM j LEFT JOIN fb ON fb.event_id = j.first_event_id
"""


def build_requests(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``requests`` (needs ``attempts`` and the cost staging ``_rp_rcost``)."""
    fill(con, "requests", REQUESTS_SELECT)
