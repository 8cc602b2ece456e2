-- One row per request id seen in any event, with its outcome.
--
-- The ``requests`` table: one row per request id seen in any event.
--
-- Outcome, first match: ``in_flight`` (no ``request.completed`` in the window and no cancel or
-- disconnect), ``disconnected``, ``cancelled`` (a cancel and a non-2xx or no answer),
-- ``success`` (2xx), ``deadline_exceeded`` (504 at or after the caller's deadline), ``client_error``
-- (4xx), else ``failed``. ``partial``: the request's ``request.received`` is not in the window.
-- kind: table
-- inputs: _rp_recv, _rp_req, _rp_window, attempts, replay_events
WITH g AS (SELECT * FROM _rp_req),
j AS (  -- flat columns (no structs): this CTE is read twice, so it is materialised
    SELECT g.request_id, g.first_seen_at, g.first_event_id,
           coalesce(r.recv.app, g.fa_app) AS app,
           coalesce(r.recv.endpoint, g.fa_endpoint) AS endpoint,
           r.received_at, r.completed_at,
           r.recv.mode AS mode, r.recv.deadline_s AS deadline_s, r.recv.no_retry AS no_retry,
           r.recv.event_id AS received_event_id,
           r.done.status AS final_status, r.done.error_type AS final_error_type,
           r.done.event_id AS completed_event_id,
           r.cancel.ts AS cancel_requested_at, r.disconnect.ts AS disconnected_at,
           g.n, g.killed, g.needless, g.gpu, g.wasted, g.usd,
           r.received_at + to_microseconds(CAST(round(r.recv.deadline_s * 1e6) AS BIGINT))
               AS deadline_at
    FROM g
    LEFT JOIN _rp_recv r USING (request_id)
    WHERE g.seen  -- one row per request id seen in an event
),
fb AS (  -- app and endpoint of requests the gateway never named: from their first event
    SELECT event_id, app, endpoint FROM replay_events
    WHERE event_id IN (SELECT first_event_id FROM j WHERE app IS NULL)
)
SELECT request_id,
       coalesce(j.app, fb.app) AS app, coalesce(j.endpoint, fb.endpoint) AS endpoint,
       mode, received_at, completed_at, final_status, final_error_type,
       CASE WHEN completed_at IS NULL AND cancel_requested_at IS NULL
                 AND disconnected_at IS NULL THEN 'in_flight'
            WHEN disconnected_at IS NOT NULL
                 AND NOT coalesce(final_status BETWEEN 200 AND 299, false) THEN 'disconnected'
            WHEN cancel_requested_at IS NOT NULL
                 AND NOT coalesce(final_status BETWEEN 200 AND 299, false) THEN 'cancelled'
            WHEN final_status BETWEEN 200 AND 299 THEN 'success'
            WHEN final_status = 504 AND deadline_at IS NOT NULL AND completed_at >= deadline_at
                 THEN 'deadline_exceeded'
            WHEN final_status BETWEEN 400 AND 499 THEN 'client_error'
            ELSE 'failed' END AS outcome,
       coalesce(n, 0)::INTEGER AS attempts,
       coalesce(killed, 0)::INTEGER AS runners_killed,
       deadline_s, deadline_at,
       CASE WHEN deadline_at IS NULL THEN NULL
            WHEN completed_at IS NULL THEN
                 CASE WHEN deadline_at < (SELECT window_end FROM _rp_window) THEN false END
            ELSE completed_at <= deadline_at END AS deadline_met,
       no_retry, cancel_requested_at, disconnected_at,
       epoch(completed_at) - epoch(received_at) AS duration_s,
       coalesce(gpu, 0) AS gpu_seconds, coalesce(wasted, 0) AS gpu_seconds_wasted,
       received_at IS NULL AS partial,
       first_seen_at, coalesce(usd, 0) AS wasted_usd,
       received_event_id, completed_event_id,
       coalesce(needless, 0)::INTEGER AS runners_killed_needlessly
FROM j LEFT JOIN fb ON fb.event_id = j.first_event_id
