-- The cost model: GPU-seconds wasted per attempt (requests sum them), and their price.
--
-- Per attempt, wasted GPU-seconds are
--
-- - after a cancel or disconnect that hit the attempt while its handler ran: the handler's and its
--   children's time after the cancel (the work before it was wanted);
-- - otherwise, an attempt that did not answer 2xx: all its handler time (it could not succeed);
-- - plus child work that kept running more than the grace period after its handler stopped;
-- - plus, when its answer needlessly killed the runner (an error the policy does not consider a
--   legitimate reason to terminate: not a GPU fault, not a timeout or broken connection), the cold
--   start the replacement runner pays (the killed runner's own setup time, else the app's mean).
--
-- Per request: the sum over its attempts. Money = GPU-seconds / 3600 x the policy's price per
-- GPU-hour of the runner's machine type (the default price when the machine type is unknown).
-- kind: inline
-- inputs: _rp_attempts, cancellations, children, policy_scalar, runners
WITH cold AS (
    SELECT app, avg(cold_start_s) AS avg_cold FROM runners WHERE cold_start_s IS NOT NULL
    GROUP BY app
),
cc AS (
    SELECT request_id, attempt, max(wasted_gpu_seconds) AS after_cancel FROM cancellations
    WHERE handler_was_running AND attempt IS NOT NULL GROUP BY request_id, attempt
),
leaked AS (
    SELECT request_id, attempt, sum(ran_after_parent_s) AS s FROM children
    WHERE ran_after_parent_s > (SELECT value FROM policy_scalar WHERE key = 'child_grace_s')
    GROUP BY request_id, attempt
)
SELECT a.request_id, a.attempt,
       CASE WHEN cc.after_cancel IS NOT NULL THEN cc.after_cancel
            WHEN a.status BETWEEN 200 AND 299 THEN coalesce(lk.s, 0)
            ELSE coalesce(a.gpu_seconds, 0) + coalesce(lk.s, 0) END
       + CASE WHEN a.needless_termination THEN coalesce(rn.cold_start_s, cold.avg_cold, 0)
              ELSE 0 END AS wasted
FROM _rp_attempts a
LEFT JOIN cc ON cc.request_id = a.request_id AND cc.attempt = a.attempt
LEFT JOIN leaked lk ON lk.request_id = a.request_id AND lk.attempt = a.attempt
LEFT JOIN runners rn ON rn.runner_id = a.runner_id
LEFT JOIN cold ON cold.app = a.app
