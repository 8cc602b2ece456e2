-- The events of the causal pairs (role 1..6) that bound each runner's clock offset.
-- kind: inline
-- inputs: replay_events
SELECT request_id, runner_id, event_id, epoch_us(ts) AS us, status,
       CASE WHEN source = 'gateway' AND event = 'attempt.dispatched' THEN 1
            WHEN source = 'runner' AND event = 'handler.started' THEN 2
            WHEN source = 'gateway' AND event = 'attempt.finished' THEN 3
            WHEN source = 'runner' AND event IN ('handler.finished', 'handler.error') THEN 4
            WHEN source = 'gateway' AND event = 'request.cancel_forwarded' THEN 5
            WHEN source = 'runner' AND event = 'cancel.received' THEN 6 END AS role
FROM replay_events
WHERE event IN ('attempt.dispatched', 'handler.started', 'attempt.finished',
                'handler.finished', 'handler.error', 'request.cancel_forwarded',
                'cancel.received')
  AND request_id IS NOT NULL AND runner_id IS NOT NULL
