-- The gateway's view of each attempt: dispatch and answer joined by attempt number.
-- kind: temp
-- inputs: _rp_ans, _rp_disp
SELECT coalesce(d.request_id, a.request_id) AS request_id,
       coalesce(d.attempt, a.att) AS attempt,
       coalesce(d.runner_id, a.runner_id) AS runner_id,
       coalesce(d.app, a.app) AS app,
       coalesce(d.endpoint, a.endpoint) AS endpoint,
       d.ts AS dispatched_at, d.event_id AS dispatched_event_id,
       a.ts AS answered_at, a.event_id AS answered_event_id, a.event AS answer_event,
       a.status, a.error_type, a.needs_retry, a.stop_runner, a.stop_runner_inferred,
       a.origin AS answer_origin
FROM _rp_disp d FULL OUTER JOIN _rp_ans a ON d.request_id = a.request_id AND d.attempt = a.att
