-- Each logged termination linked to the attempt that caused it (by request id, else the
-- runner's latest answer that can kill it, within termination_link_s).
-- kind: temp
-- inputs: _rp_att1, _rp_term, policy_scalar
WITH keyed AS (
    SELECT request_id, attempt, runner_id, expected_runner_impact,
           coalesce(answered_at, dispatched_at) AS akey
    FROM _rp_att1 WHERE coalesce(answered_at, dispatched_at) IS NOT NULL
),
by_request AS (
    SELECT t.event_id, t.ts, t.reason, k.request_id, k.attempt
    FROM (SELECT *, ts + INTERVAL 1 SECOND AS ts_tol FROM _rp_term
          WHERE request_id IS NOT NULL) t
    ASOF JOIN keyed k
      ON t.request_id = k.request_id AND t.runner_id = k.runner_id AND t.ts_tol >= k.akey
),
by_runner AS (
    SELECT t.event_id, t.ts, t.reason, k.request_id, k.attempt
    FROM (SELECT *, ts + INTERVAL 1 SECOND AS ts_tol FROM _rp_term
          WHERE request_id IS NULL  -- the reasons an answer can cause
            AND reason IN ('status_503', 'stop_runner_header', 'request_timeout',
                           'connection_error', 'health_check_failed', 'crash')) t
    ASOF JOIN (SELECT * FROM keyed WHERE expected_runner_impact IN ('terminated', 'health_check')
              ) k
      ON t.runner_id = k.runner_id AND t.ts_tol >= k.akey
    WHERE epoch(t.ts) - epoch(k.akey) <= (SELECT value FROM policy_scalar
                                          WHERE key = 'termination_link_s')
)
SELECT * FROM (SELECT * FROM by_request UNION ALL SELECT * FROM by_runner)
QUALIFY row_number() OVER (PARTITION BY request_id, attempt ORDER BY ts, event_id) = 1
