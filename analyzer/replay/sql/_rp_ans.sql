-- The gateway's answers, numbered (by attempt, else the latest dispatch on the same runner);
-- the effective x-fal-stop-runner (logged, or inferred for a listing's 503 whose runner took
-- another dispatch later).
-- kind: inline
-- inputs: _rp_disp, replay_events
WITH later AS (  -- a listing without headers: the runner's last dispatch it shows
    SELECT runner_id, max(ts) AS last_dispatch FROM replay_events
    WHERE origin = 'fal_requests' AND event = 'attempt.dispatched' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
raw0 AS (
    SELECT e.event_id, e.ts, e.event, e.request_id, e.runner_id, e.attempt, e.app, e.endpoint,
           e.status, e.error_type, e.needs_retry, e.stop_runner, e.origin,
           -- x-fal-stop-runner: false is the documented explanation of a runner that took
           -- another attempt after answering 503 in a listing that carries no headers
           (e.stop_runner IS NULL AND e.origin = 'fal_requests' AND e.event = 'attempt.finished'
            AND e.status = 503 AND coalesce(l.last_dispatch > e.ts, false)) AS stop_inferred
    FROM replay_events e LEFT JOIN later l ON l.runner_id = e.runner_id AND e.origin = 'fal_requests'
    WHERE e.source = 'gateway' AND e.event IN ('attempt.finished', 'attempt.failed')
      AND e.request_id IS NOT NULL
),
raw AS (
    SELECT * EXCLUDE (stop_runner, stop_inferred),
           CASE WHEN stop_inferred THEN false ELSE stop_runner END AS stop_runner,
           stop_inferred AS stop_runner_inferred
    FROM raw0
),
numbered AS (
    SELECT r.*, r.attempt AS att FROM raw r WHERE r.attempt IS NOT NULL
    UNION ALL
    SELECT r.*, d.attempt AS att FROM (SELECT * FROM raw WHERE attempt IS NULL) r
    ASOF LEFT JOIN _rp_disp d
      ON r.request_id = d.request_id AND r.runner_id = d.runner_id AND r.ts >= d.ts
)
SELECT * FROM numbered WHERE att IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY request_id, att ORDER BY ts, event_id) = 1
