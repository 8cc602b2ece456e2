"""The ``attempts`` table: one row per attempt, observed consequence next to the policy's.

Steps (all set-based):

1. the runner's side of each attempt from ``_rp_rev`` (handler start, first end, exception);
2. the error class of each distinct (exception type, message) from the policy's patterns;
3. the policy's expectation from the ``policy_*`` lookup tables (status or failure rule,
   ``x-fal-stop-runner`` / ``X-Fal-Needs-Retry`` overrides, direct calls, ``x-fal-no-retry``,
   skip conditions, the attempt cap);
4. ``runner.terminated`` linked to the attempt that caused it: by ``request_id`` when the event
   names one, else (for request-caused reasons) to the runner's latest answer that could kill it,
   within ``termination_link_s``;
5. an attempt whose answer should kill the runner, with no logged termination, and after which
   the runner shows no sign of life (no runner line, dispatch, answer or passing health check
   more than ``silence_grace_s`` later) is terminated *by inference* at its answer;
6. deviations: the runner kept serving though it should have died, died though it should have
   stayed healthy, a retry the policy forbids, or a missing retry the policy requires (only when
   the request completed without a cancel, disconnect or passed deadline).
"""

from __future__ import annotations

import duckdb

from analyzer.replay.policy_sql import classify_error_sql
from analyzer.replay.schema import fill

REQUEST_TERMINATION_REASONS = (
    "status_503",
    "stop_runner_header",
    "request_timeout",
    "connection_error",
    "health_check_failed",
    "crash",
)

OBSERVED_429_SQL = """
WITH a AS (
    SELECT a.request_id, a.attempt,
           EXISTS (SELECT 1 FROM _rp_att0 n WHERE n.request_id = a.request_id
                   AND n.attempt > a.attempt) AS retried
    FROM _rp_att0 a LEFT JOIN _rp_recv r USING (request_id)
    WHERE a.status = 429 AND a.needs_retry IS NULL
      AND coalesce(r.recv.mode, 'queue') = 'queue' AND NOT coalesce(r.recv.no_retry, false)
      AND a.attempt < ?
)
SELECT count(*) FILTER (WHERE retried), count(*) FILTER (WHERE NOT retried) FROM a
"""


def observed_429(con: duckdb.DuckDBPyConnection, max_attempts: int) -> str:
    """Which 429 behaviour the logs show: ``retried``, ``not_retried`` or ``unknown``."""
    row = con.execute(OBSERVED_429_SQL, [max_attempts]).fetchall()[0]
    yes, no = int(row[0]), int(row[1])
    if yes > no:
        return "retried"
    if no > yes:
        return "not_retried"
    return "unknown"


_STEP_SQL = f"""
CREATE OR REPLACE TEMP TABLE _rp_hand AS
WITH h AS (
    SELECT request_id, att AS attempt,
           min(ts) FILTER (WHERE event = 'handler.started') AS handler_started_at,
           arg_min(event_id, ts) FILTER (WHERE event = 'handler.started')
               AS handler_started_event_id,
           arg_min({{'ts': ts, 'event': event, 'event_id': event_id}}, ts)
               FILTER (WHERE event IN ('handler.finished', 'handler.error', 'handler.cancelled'))
               AS h0
    FROM _rp_rev WHERE att IS NOT NULL
      AND event IN ('handler.started', 'handler.finished', 'handler.error', 'handler.cancelled')
    GROUP BY request_id, att
)
SELECT h.* EXCLUDE (h0), h.h0.ts AS handler_ended_at,
       replace(h.h0.event, 'handler.', '') AS handler_outcome,
       h.h0.event_id AS handler_end_event_id, e.status AS handler_status,
       CASE WHEN h.h0.event = 'handler.error' THEN e.exc_type END AS exc_type,
       CASE WHEN h.h0.event = 'handler.error' THEN e.message END AS exc_message
FROM h LEFT JOIN events e ON e.event_id = h.h0.event_id;

CREATE OR REPLACE TEMP TABLE _rp_errclass AS
WITH pairs AS (
    SELECT DISTINCT exc_type, exc_message FROM _rp_hand
    WHERE exc_type IS NOT NULL OR exc_message IS NOT NULL
)
SELECT coalesce(exc_type, '') AS k_exc, coalesce(exc_message, '') AS k_msg,
       {classify_error_sql("exc_type", "exc_message")} AS error_class
FROM pairs;

CREATE OR REPLACE TEMP TABLE _rp_att1 AS
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
       ON sk_all.condition = i.condition;

CREATE OR REPLACE TEMP TABLE _rp_term AS
SELECT event_id, ts, runner_id, request_id, reason FROM events
WHERE source = 'gateway' AND event = 'runner.terminated' AND runner_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE _rp_termlink AS
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
          WHERE request_id IS NULL AND reason IN {REQUEST_TERMINATION_REASONS!r}) t
    ASOF JOIN (SELECT * FROM keyed WHERE expected_runner_impact IN ('terminated', 'health_check')
              ) k
      ON t.runner_id = k.runner_id AND t.ts_tol >= k.akey
    WHERE epoch(t.ts) - epoch(k.akey) <= (SELECT value FROM policy_scalar
                                          WHERE key = 'termination_link_s')
)
SELECT * FROM (SELECT * FROM by_request UNION ALL SELECT * FROM by_runner)
QUALIFY row_number() OVER (PARTITION BY request_id, attempt ORDER BY ts, event_id) = 1;

"""

_ATTEMPTS_SELECT = """
WITH t AS (
    SELECT a.*,
           l.event_id AS terminated_event_id, l.reason AS logged_reason,
           l.ts AS logged_term_at,
           (l.event_id IS NULL AND a.expected_runner_impact = 'terminated'
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
SELECT u.* EXCLUDE (needless_, runner_terminated_, terminated_at_, logged_reason, logged_term_at,
                    inferred, completed_at, cancelled_, deadline_passed, max_attempt,
                    answer_event, no_retry),
       runner_terminated_ AS runner_terminated,
       inferred AS termination_inferred,
       terminated_at_ AS terminated_at,
       q.reason AS requeue_reason,
       concat_ws('; ',
           CASE WHEN expected_runner_impact = 'terminated' AND NOT runner_terminated_
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
       ) AS deviation_reason_,
       greatest(0, epoch(coalesce(handler_ended_at, terminated_at_, answered_at,
                                  (SELECT window_end FROM _rp_window)))
                   - epoch(coalesce(handler_started_at, dispatched_at))) AS gpu_seconds,
       needless_ AS needless_termination,
       runner_terminated_ AND NOT needless_ AS legitimate_termination
FROM v AS u
LEFT JOIN (SELECT request_id, attempt - 1 AS attempt, arg_min(reason, ts) AS reason
           FROM events WHERE event = 'request.requeued' AND attempt IS NOT NULL
             AND request_id IS NOT NULL
           GROUP BY ALL) q
  ON q.request_id = u.request_id AND q.attempt = u.attempt
"""


def build_attempts(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``attempts`` (needs the staging tables and the policy tables)."""
    con.execute(_STEP_SQL)
    fill(
        con,
        "attempts",
        "SELECT * EXCLUDE (deviation_reason_), deviation_reason_ <> '' AS deviation, "
        "nullif(deviation_reason_, '') AS deviation_reason, "
        "NULL::DOUBLE AS gpu_seconds_wasted, NULL::DOUBLE AS wasted_usd "
        f"FROM ({_ATTEMPTS_SELECT})",
    )
    con.execute(
        "DROP TABLE IF EXISTS _rp_hand; DROP TABLE IF EXISTS _rp_errclass; "
        "DROP TABLE IF EXISTS _rp_att1; DROP TABLE IF EXISTS _rp_termlink"
    )
