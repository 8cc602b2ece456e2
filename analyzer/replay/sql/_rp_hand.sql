-- The runner's side of each attempt: handler start, first end, its status and exception.
-- kind: temp
-- inputs: _rp_rev, replay_events
WITH h AS (
    SELECT request_id, att AS attempt,
           min(ts) FILTER (WHERE event = 'handler.started') AS handler_started_at,
           arg_min(event_id, k) FILTER (WHERE event = 'handler.started')
               AS handler_started_event_id,
           arg_min({'ts': ts, 'event': event, 'event_id': event_id}, k)
               FILTER (WHERE event IN ('handler.finished', 'handler.error', 'handler.cancelled'))
               AS h0
    -- k: the time, then the event id (ties: the same event in two logs, e.g. native and fal)
    FROM (SELECT *, (epoch_us(ts)::HUGEINT << 40) + event_id AS k FROM _rp_rev WHERE att IS NOT NULL
      AND event IN ('handler.started', 'handler.finished', 'handler.error', 'handler.cancelled'))
    GROUP BY request_id, att
)
SELECT h.* EXCLUDE (h0), h.h0.ts AS handler_ended_at,
       replace(h.h0.event, 'handler.', '') AS handler_outcome,
       h.h0.event_id AS handler_end_event_id, e.status AS handler_status,
       CASE WHEN h.h0.event = 'handler.error' THEN e.exc_type END AS exc_type,
       CASE WHEN h.h0.event = 'handler.error' THEN e.message END AS exc_message
FROM h LEFT JOIN replay_events e ON e.event_id = h.h0.event_id
