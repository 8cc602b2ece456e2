-- Each attempt with its error class, machine type, price, and the policy's expected runner
-- impact and retry.
-- kind: temp
-- inputs: _rp_att0, _rp_errclass, _rp_hand, _rp_recv, _rp_rseen, policy_failure, policy_price, policy_scalar, policy_skip, policy_status, policy_text
WITH base AS (
    SELECT a.*, h.handler_started_at, h.handler_started_event_id, h.handler_ended_at,
           h.handler_outcome, h.handler_end_event_id, h.handler_status, h.exc_type,
           h.exc_message,
           r.recv.mode AS mode, r.recv.no_retry AS no_retry,
           coalesce(a.app, r.recv.app) AS app_, coalesce(a.endpoint, r.recv.endpoint) AS endpoint_,
           mx.max_attempt
    FROM _rp_att0 a
    LEFT JOIN _rp_hand h ON h.request_id = a.request_id AND h.attempt = a.attempt
    LEFT JOIN _rp_recv r ON r.request_id = a.request_id
    LEFT JOIN (SELECT request_id, max(attempt) AS max_attempt FROM _rp_att0
               GROUP BY request_id) mx ON mx.request_id = a.request_id
),
impact AS (
    SELECT b.*,
           CASE WHEN b.status IS NOT NULL THEN ps.runner_impact
                WHEN b.answer_event = 'attempt.failed' THEN pf.runner_impact END AS base_impact,
           CASE WHEN b.status IS NOT NULL THEN ps.retry
                WHEN b.answer_event = 'attempt.failed' THEN pf.retry END AS base_retry,
           CASE WHEN b.status IS NOT NULL THEN ps.condition
                WHEN b.answer_event = 'attempt.failed' THEN pf.condition END AS condition
    FROM base b
    LEFT JOIN policy_status ps ON ps.status = b.status
    LEFT JOIN policy_failure pf ON pf.error_type = b.error_type
)
SELECT i.* EXCLUDE (app, endpoint, app_, endpoint_, base_impact, base_retry, condition),
       i.app_ AS app, i.endpoint_ AS endpoint,
       ec.error_class, mt.machine_type,
       coalesce(pp.usd_per_hour, (SELECT value FROM policy_scalar
                                  WHERE key = 'default_gpu_hour_usd')) AS price_usd_per_gpu_hour,
       CASE WHEN i.answered_at IS NULL THEN NULL
            WHEN i.stop_runner THEN (SELECT value FROM policy_text WHERE key = 'stop_true')
            WHEN i.stop_runner = false AND i.base_impact = 'terminated'
                 THEN (SELECT value FROM policy_text WHERE key = 'stop_false')
            ELSE i.base_impact END AS expected_runner_impact,
       CASE WHEN i.answered_at IS NULL OR (i.status IS NULL AND i.base_retry IS NULL
                                           AND i.needs_retry IS NULL) THEN NULL
            WHEN i.mode = 'direct' AND (SELECT value FROM policy_scalar
                                        WHERE key = 'direct_calls_retried') = 0 THEN false
            WHEN coalesce(i.no_retry, false) AND (SELECT value FROM policy_scalar
                                                  WHERE key = 'no_retry_stops') = 1 THEN false
            WHEN i.attempt >= (SELECT value FROM policy_scalar WHERE key = 'max_attempts')
                 THEN false
            WHEN i.needs_retry IS NOT NULL THEN i.needs_retry
            WHEN i.base_retry AND (sk_app.condition IS NOT NULL
                                   OR sk_all.condition IS NOT NULL) THEN false
            ELSE i.base_retry END AS expected_retry,
       coalesce(i.max_attempt > i.attempt, false) AS retried
FROM impact i
LEFT JOIN _rp_errclass ec ON (i.exc_type IS NOT NULL OR i.exc_message IS NOT NULL)
                         AND ec.k_exc = coalesce(i.exc_type, '')
                         AND ec.k_msg = coalesce(i.exc_message, '')
LEFT JOIN _rp_rseen mt ON mt.runner_id = i.runner_id
LEFT JOIN policy_price pp ON pp.machine_type = mt.machine_type
-- skip conditions as plain joins (a correlated EXISTS made DuckDB materialise every row)
LEFT JOIN (SELECT DISTINCT app, condition FROM policy_skip) sk_app
       ON sk_app.condition = i.condition AND sk_app.app = i.app_
LEFT JOIN (SELECT DISTINCT condition FROM policy_skip WHERE app = '*') sk_all
       ON sk_all.condition = i.condition
