-- A request listing's last answer, taken as the completion by the importer, ends nothing when
-- the policy retries its status below max_attempts: a retry may still be queued.
-- kind: temp
-- inputs: _rp_disp, policy_retried_status, policy_scalar, replay_events
-- a request listing's last answer, taken as the completion by the importer, ends nothing when
-- the policy retries its status and the cap is not reached: a retry may still be queued
SELECT e.event_id FROM replay_events e
JOIN (SELECT request_id, max(attempt) AS n FROM _rp_disp GROUP BY request_id) d USING (request_id)
WHERE e.origin = 'fal_requests' AND e.inferred AND e.event = 'request.completed'
  AND e.status IN (SELECT status FROM policy_retried_status)
  AND d.n < (SELECT value FROM policy_scalar WHERE key = 'max_attempts')
