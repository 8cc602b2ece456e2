-- Each attempt's termination: logged, or inferred (the runner fell silent after an answer that
-- kills it); needless or legitimate.
--
-- The ``attempts`` table: one row per attempt, observed consequence next to the policy's.
--
-- Steps (all set-based):
--
-- 1. the runner's side of each attempt from ``_rp_rev`` (handler start, first end, exception);
-- 2. the error class of each distinct (exception type, message) from the policy's patterns;
-- 3. the policy's expectation from the ``policy_*`` lookup tables (status or failure rule,
--    ``x-fal-stop-runner`` / ``X-Fal-Needs-Retry`` overrides, direct calls, ``x-fal-no-retry``,
--    skip conditions, the attempt cap);
-- 4. ``runner.terminated`` linked to the attempt that caused it: by ``request_id`` when the event
--    names one, else (for request-caused reasons) to the runner's latest answer that could kill it,
--    within ``termination_link_s``;
-- 5. an attempt whose answer (written by the platform: native or fal_* origin) should kill the
--    runner, with no logged termination, and after which
--    the runner shows no sign of life (no runner line, dispatch, answer or passing health check
--    more than ``silence_grace_s`` later) is terminated *by inference* at its answer;
-- 6. deviations: the runner kept serving though it should have died, died though it should have
--    stayed healthy, a retry the policy forbids, or a missing retry the policy requires (only when
--    the request completed without a cancel, disconnect or passed deadline).
-- kind: inline
-- inputs: _rp_att1, _rp_recv, _rp_rseen, _rp_term, _rp_termlink, policy_legit_503, policy_scalar
WITH t AS (
    SELECT a.*,
           l.event_id AS terminated_event_id, l.reason AS logged_reason,
           l.ts AS logged_term_at,
           (l.event_id IS NULL AND a.expected_runner_impact = 'terminated'
            -- only where the platform wrote the answer: a proxy (nginx, Envoy) or an app's own
            -- traces show no platform that kills runners
            AND (a.answer_origin = 'native' OR a.answer_origin LIKE 'fal\_%' ESCAPE '\')
            -- a logged termination of this runner near the answer (linked to another
            -- attempt, e.g. of a request served at the same time) rules out inference
            AND NOT coalesce(epoch(ft.first_term) BETWEEN epoch(a.answered_at) - 1
                             AND epoch(a.answered_at) + (SELECT value FROM policy_scalar
                                                         WHERE key = 'termination_link_s'),
                             false)
            AND coalesce(epoch(al.last_alive) - epoch(a.answered_at), 0)
                <= (SELECT value FROM policy_scalar WHERE key = 'silence_grace_s'))
               AS inferred
    FROM _rp_att1 a
    LEFT JOIN _rp_termlink l ON l.request_id = a.request_id AND l.attempt = a.attempt
    LEFT JOIN _rp_rseen al ON al.runner_id = a.runner_id
    LEFT JOIN (SELECT runner_id, min(ts) AS first_term FROM _rp_term GROUP BY runner_id) ft
      ON ft.runner_id = a.runner_id
),
u AS (
    SELECT t.*,
           (terminated_event_id IS NOT NULL OR inferred) AS runner_terminated_,
           CASE WHEN inferred THEN answered_at ELSE logged_term_at END AS terminated_at_,
           CASE WHEN terminated_event_id IS NOT NULL THEN logged_reason
                WHEN inferred THEN CASE
                    WHEN stop_runner THEN 'stop_runner_header'
                    WHEN status = 503 THEN 'status_503'
                    WHEN error_type = 'request_timeout' THEN 'request_timeout'
                    WHEN answer_event = 'attempt.failed' THEN 'connection_error'
                    ELSE 'status_' || status END END AS termination_reason,
           r.completed_at, coalesce(r.cancelled_, false) AS cancelled_, r.deadline_passed
    FROM t
    LEFT JOIN (  -- flat columns, not _rp_recv's structs, through the join
        SELECT request_id, completed_at,
               cancel IS NOT NULL OR disconnect IS NOT NULL AS cancelled_,
               epoch(completed_at) >= epoch(received_at) + recv.deadline_s AS deadline_passed
        FROM _rp_recv) r USING (request_id)
),
v AS (  -- a termination is needless unless the error or the reason justifies it
    SELECT u.*,
           (runner_terminated_ AND error_class IS NOT NULL
            AND error_class NOT IN (SELECT class_name FROM policy_legit_503)
            AND coalesce(termination_reason, '') NOT IN ('request_timeout', 'connection_error',
                                                         'crash', 'scaled_down')) AS needless_
    FROM u
)
SELECT v.* EXCLUDE (needless_, runner_terminated_, terminated_at_, logged_reason,
                    logged_term_at, inferred, max_attempt, answer_event, no_retry,
                    answer_origin),
       runner_terminated_ AS runner_terminated,
       inferred AS termination_inferred,
       terminated_at_ AS terminated_at,
       needless_ AS needless_termination,
       runner_terminated_ AND NOT needless_ AS legitimate_termination
FROM v
