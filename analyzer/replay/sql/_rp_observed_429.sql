-- Which 429 behaviour the logs show: retried, not_retried or unknown (a majority of the queued
-- 429s below the cap).
-- kind: temp
-- inputs: _rp_att0, _rp_recv, policy_scalar
WITH a AS (
    SELECT a.request_id, a.attempt,
           EXISTS (SELECT 1 FROM _rp_att0 n WHERE n.request_id = a.request_id
                   AND n.attempt > a.attempt) AS retried
    FROM _rp_att0 a LEFT JOIN _rp_recv r USING (request_id)
    WHERE a.status = 429 AND a.needs_retry IS NULL
      AND coalesce(r.recv.mode, 'queue') = 'queue' AND NOT coalesce(r.recv.no_retry, false)
      AND a.attempt < (SELECT value FROM policy_scalar WHERE key = 'max_attempts')
)
SELECT CASE WHEN yes > no THEN 'retried' WHEN no > yes THEN 'not_retried' ELSE 'unknown' END
           AS behaviour
FROM (SELECT count(*) FILTER (WHERE retried) AS yes, count(*) FILTER (WHERE NOT retried) AS no
      FROM a)
