-- The gateway's logged runner terminations.
-- kind: temp
-- inputs: replay_events
SELECT event_id, ts, runner_id, request_id, reason FROM replay_events
WHERE source = 'gateway' AND event = 'runner.terminated' AND runner_id IS NOT NULL
