-- The gateway's dispatches, numbered (an unnumbered dispatch takes its rank in the request).
-- kind: temp
-- inputs: replay_events
WITH d AS (
    SELECT request_id,
           coalesce(attempt, row_number() OVER (PARTITION BY request_id ORDER BY ts, event_id))
               ::INTEGER AS att,
           runner_id, ts, event_id, app, endpoint
    FROM replay_events
    WHERE source = 'gateway' AND event = 'attempt.dispatched' AND request_id IS NOT NULL
)
SELECT request_id, att AS attempt, runner_id, ts, event_id, app, endpoint FROM d
QUALIFY row_number() OVER (PARTITION BY request_id, att ORDER BY ts, event_id) = 1
