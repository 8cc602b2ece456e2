-- The 429 answers that tell how the queue treats a 429, counted per app: retried or not (queued
-- requests without X-Fal-Needs-Retry, below the cap). The majority over every app (with
-- replay_429_other: the apps an incremental replay keeps) decides policy_status's 429 retry.
-- kind: temp
-- inputs: _rp_att0, _rp_recv, policy_scalar
WITH a AS (
    SELECT coalesce(a.app, r.recv.app) AS app,
           EXISTS (SELECT 1 FROM _rp_att0 n WHERE n.request_id = a.request_id
                   AND n.attempt > a.attempt) AS retried
    FROM _rp_att0 a LEFT JOIN _rp_recv r USING (request_id)
    WHERE a.status = 429 AND a.needs_retry IS NULL
      AND coalesce(r.recv.mode, 'queue') = 'queue' AND NOT coalesce(r.recv.no_retry, false)
      AND a.attempt < (SELECT value FROM policy_scalar WHERE key = 'max_attempts')
)
SELECT app, count(*) FILTER (WHERE retried) AS retried,
       count(*) FILTER (WHERE NOT retried) AS not_retried
FROM a GROUP BY app
