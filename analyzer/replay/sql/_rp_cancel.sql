-- Each cancel and disconnect with the attempt it hit (the latest dispatched at or before it).
-- kind: temp
-- inputs: _rp_attempts, _rp_recv
WITH c AS (
    SELECT request_id, 'cancel' AS kind, cancel.ts AS requested_at,
           cancel.event_id AS requested_event_id
    FROM _rp_recv WHERE cancel IS NOT NULL
    UNION ALL
    SELECT request_id, 'disconnect', disconnect.ts, disconnect.event_id
    FROM _rp_recv WHERE disconnect IS NOT NULL
),
ca AS (
    SELECT c.*, a.attempt, a.runner_id, a.app, a.endpoint, a.handler_started_at,
           a.dispatched_at, a.handler_ended_at, a.handler_outcome, a.handler_end_event_id,
           a.answered_at, a.terminated_at
    FROM c ASOF LEFT JOIN (SELECT * FROM _rp_attempts WHERE dispatched_at IS NOT NULL) a
      ON c.request_id = a.request_id AND c.requested_at >= a.dispatched_at
)
SELECT * FROM ca
