-- Each attempt with its policy deviations, requeue reason and GPU-seconds (everything but the
-- waste).
-- kind: temp
-- inputs: _rp_att2, _rp_window, replay_events
WITH d AS (
    SELECT a.*,
           concat_ws('; ',
               CASE WHEN expected_runner_impact = 'terminated' AND NOT runner_terminated
                    THEN 'runner kept serving after ' || coalesce('status ' || status, error_type)
                         || ' (policy: terminated)' END,
               CASE WHEN expected_runner_impact = 'healthy' AND terminated_event_id IS NOT NULL
                    THEN 'runner terminated (' || coalesce(termination_reason, '?')
                         || ') though the policy keeps it healthy' END,
               CASE WHEN expected_retry = false AND retried
                    THEN 'retried though the policy does not retry' END,
               CASE WHEN expected_retry AND NOT retried AND completed_at IS NOT NULL
                         AND completed_at >= answered_at AND NOT cancelled_
                         AND NOT coalesce(deadline_passed, false)
                    THEN 'not retried though the policy retries' END
           ) AS why
    FROM _rp_att2 a
)
SELECT d.* EXCLUDE (why, completed_at, cancelled_, deadline_passed),
       why <> '' AS deviation, nullif(why, '') AS deviation_reason,
       q.reason AS requeue_reason,
       greatest(0, epoch(coalesce(handler_ended_at, terminated_at, answered_at,
                                  (SELECT window_end FROM _rp_window)))
                   - epoch(coalesce(handler_started_at, dispatched_at))) AS gpu_seconds
FROM d
LEFT JOIN (SELECT request_id, attempt - 1 AS attempt, arg_min(reason, ts) AS reason
           FROM replay_events WHERE event = 'request.requeued' AND attempt IS NOT NULL
             AND request_id IS NOT NULL
           GROUP BY ALL) q
  ON q.request_id = d.request_id AND q.attempt = d.attempt
