"""R rules: retries that cannot help (poison requests, timeout loops, work after the deadline)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from analyzer.rules.base import Rule, RuleOptions
from analyzer.rules.lifecycle import platform
from analyzer.rules.status import ATTEMPT_HIT

KILL_OBSERVABLE = (
    f"(NOT coalesce(a.termination_inferred, false) OR {platform('a.answered_event_id')})"
)
"""A termination the logs can show: logged, or inferred from an answer the platform's gateway
wrote. A proxy (nginx, Envoy) kills no upstream and an app's traces show no gateway, so a
runner that falls silent after their failed attempts is no killed runner."""

FAILED_SIGNATURE = (
    "CASE WHEN a.status IS NOT NULL THEN concat_ws(' ', a.status::VARCHAR, a.exc_type) "
    "ELSE coalesce(a.error_type, 'no answer') END"
)


class R001Options(RuleOptions):
    min_runners: int = Field(default=3, ge=2, description="terminated runners, same failure")


class R001(Rule):
    """One request failed the same way on 3 or more runners, and each was terminated.

    **When it fires**: at least `min_runners` (3) attempts of one request failed with the same
    signature (status and exception type, or the gateway's `attempt.failed` error type), each
    on a distinct runner that was terminated because of it (logged, or inferred from an answer
    the platform's gateway wrote: a proxy such as nginx or Envoy kills no runner, and an app's
    own traces do not show the gateway).

    **Why it matters**: a 503, a crash or a `request_timeout` terminates the runner and the queue
    retries the request "on a new runner (up to 10 times)". When the request itself is the
    problem (a poison input), every retry kills one more healthy runner and pays one more cold
    start, and the request fails anyway.

    **Anti-pattern**: an input that crashes the process or makes the app answer 503, retried by
    the platform until the attempts run out.

    **Best practice**: classify the failure: answer 422 for bad input (never retried), or stop
    the retry explicitly when the failure is deterministic.

    ```python
    return JSONResponse(status_code=500, headers={"X-Fal-Needs-Retry": "0"},
                        content={"detail": "input crashes the decoder"})
    ```
    """

    code = "R001"
    name = "retry.poison-request"
    severity = "error"
    Options = R001Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            WITH failed AS (
                SELECT a.*, {FAILED_SIGNATURE} AS sig FROM attempts a
                WHERE a.runner_terminated AND (a.status IS NULL OR a.status >= 400)
                  AND {KILL_OBSERVABLE}
            ),
            poison AS (
                SELECT request_id, sig, count(DISTINCT runner_id) AS runners
                FROM failed GROUP BY ALL HAVING count(DISTINCT runner_id) >= ?
            )
            SELECT {ATTEMPT_HIT},
              format('failed the same way ({{}}) on {{}} runners, each terminated',
                     p.sig, p.runners) AS message,
              [a.answered_event_id, a.terminated_event_id, a.handler_end_event_id]
                AS evidence_ids,
              1 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              p.sig AS signature
            FROM failed a JOIN poison p ON p.request_id = a.request_id AND p.sig = a.sig
            """,
            [options.min_runners],
        )


class R002Options(RuleOptions):
    grace_s: float = Field(default=0.0, ge=0, description="tolerance after the deadline")


class R002(Rule):
    """An attempt was dispatched, or a success delivered, after the caller's deadline.

    **When it fires**: the caller sent `X-Fal-Request-Timeout` (`deadline_s`) and an attempt was
    dispatched after `received_at + deadline_s`, or an attempt answered 2xx after it.
    Both times are the gateway's, so clock skew plays no part.

    **Why it matters**: the caller's `X-Fal-Request-Timeout` is "the total deadline for the
    request, including queue wait time": past it the platform answers 504 with no retry. Work
    dispatched (or finished) after it is GPU time nobody will receive: the cancellation essay's
    "deadlines are part of correctness".

    **Anti-pattern**: requeueing a request whose deadline already passed; a gateway that does
    not enforce the caller's deadline.

    **Best practice**: carry the deadline with the request and check it before each dispatch;
    callers set a realistic `start_timeout`.

    ```python
    result = fal_client.subscribe("acme/sdxl", arguments=args, start_timeout=30)
    ```
    """

    code = "R002"
    name = "retry.after-deadline"
    severity = "warning"
    Options = R002Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              CASE WHEN a.dispatched_at > r.deadline_at + to_seconds(?)
                THEN format('attempt {{}} was dispatched {{}} s after the caller''s deadline '
                            || '({{}} s)', a.attempt,
                            round(epoch(a.dispatched_at) - epoch(r.deadline_at), 1), r.deadline_s)
                ELSE format('attempt {{}} delivered {{}} {{}} s after the caller''s deadline '
                            || '({{}} s)', a.attempt, a.status,
                            round(epoch(a.answered_at) - epoch(r.deadline_at), 1), r.deadline_s)
              END AS message,
              [a.dispatched_event_id, a.answered_event_id, a.handler_end_event_id]
                AS evidence_ids,
              0 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              'after deadline' AS signature
            FROM attempts a JOIN requests r ON r.request_id = a.request_id
            WHERE r.deadline_at IS NOT NULL
              AND (a.dispatched_at > r.deadline_at + to_seconds(?)
                   OR (a.status BETWEEN 200 AND 299
                       AND a.answered_at > r.deadline_at + to_seconds(?)))
            """,
            [options.grace_s] * 3,
        )


class R003Options(RuleOptions):
    min_attempts: int = Field(default=2, ge=2, description="request_timeout attempts")


class R003(Rule):
    """Two or more attempts of one request hit `request_timeout`, each killing its runner.

    **When it fires**: at least `min_attempts` (2) attempts of one request ended with the
    gateway's `request_timeout` and their runners were terminated (logged, or inferred from the
    platform's gateway's answer: a proxy's timeout, such as nginx's own 504, kills no runner).

    **Why it matters**: when `request_timeout` is exceeded "the gateway kills the connection,
    terminates the runner, and retries the request (unless you set
    `skip_retry_conditions = ["timeout"]`)". A request that legitimately needs longer than the
    timeout loops: every attempt burns a runner and its cold start and the request still fails.

    **Anti-pattern**: a `request_timeout` shorter than the slowest legitimate request, with the
    `timeout` retry condition left on.

    **Best practice**: raise the timeout, or skip the timeout retry condition.

    ```python
    class MyApp(fal.App):
        request_timeout = 900
        skip_retry_conditions = ["timeout"]
    ```
    """

    code = "R003"
    name = "retry.timeout-loop"
    severity = "warning"
    Options = R003Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            WITH timed_out AS (
                SELECT a.* FROM attempts a
                WHERE a.error_type = 'request_timeout' AND a.runner_terminated
                  AND {KILL_OBSERVABLE}
            ),
            loops AS (
                SELECT request_id, count(*) AS n FROM timed_out GROUP BY ALL HAVING count(*) >= ?
            )
            SELECT {ATTEMPT_HIT},
              format('{{}} attempts hit request_timeout, each killing its runner; raise the '
                     || 'timeout or skip the timeout retry condition', l.n) AS message,
              [a.answered_event_id, a.terminated_event_id, a.dispatched_event_id] AS evidence_ids,
              1 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              'request_timeout' AS signature
            FROM timed_out a JOIN loops l ON l.request_id = a.request_id
            """,
            [options.min_attempts],
        )


class R004Options(RuleOptions):
    max_attempts: int | None = Field(
        default=None, ge=1, description="attempts that exhaust the retries (None: the policy's)"
    )


class R004(Rule):
    """A request failed after the maximum number of attempts.

    **When it fires**: the request's final answer was not 2xx and it had at least
    `max_attempts` attempts (the policy's maximum, 10 by default).

    **Why it matters**: queue requests are retried "up to 10 attempts, before the request is
    marked as failed". Reaching the cap means every retry failed: ten runs of GPU time (and
    often ten terminated runners, see R001) for nothing.

    **Anti-pattern**: failures that retries cannot fix, answered with retryable statuses.

    **Best practice**: answer non-retryable failures with 4xx or `X-Fal-Needs-Retry: 0`.

    ```python
    return JSONResponse(status_code=422, content={"detail": "image cannot be decoded"})
    ```
    """

    code = "R004"
    name = "retry.exhausted"
    severity = "info"
    Options = R004Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            """
            WITH exhausted AS (
                SELECT r.* FROM requests r
                WHERE r.attempts >= ? AND r.final_status IS NOT NULL
                  AND NOT (r.final_status BETWEEN 200 AND 299)
            ),
            tried AS (
                SELECT a.request_id, list(a.answered_event_id ORDER BY a.attempt) AS ids,
                       arg_min(a.runner_id, a.attempt) AS first_runner,
                       list(a.attempt ORDER BY a.attempt) AS attempts,
                       count(*) FILTER (WHERE a.runner_terminated) AS killed
                FROM attempts a WHERE a.request_id IN (SELECT request_id FROM exhausted)
                GROUP BY ALL
            ),
            done AS (
                SELECT e.request_id, min(e.event_id) AS event_id FROM events e
                WHERE e.event = 'request.completed'
                  AND e.request_id IN (SELECT request_id FROM exhausted)
                GROUP BY ALL
            )
            SELECT r.request_id AS subject, 0 AS ord, r.app, r.endpoint, r.request_id,
              t.first_runner AS runner_id, coalesce(r.completed_at, r.received_at) AS ts,
              format('failed with {} after {} attempts (the maximum)', r.final_status, r.attempts)
                AS message,
              list_prepend(d.event_id, coalesce(t.ids, [])) AS evidence_ids,
              coalesce(t.killed, 0) AS runners_killed,
              coalesce(t.attempts, []) AS blamed_attempts,
              concat_ws(' ', r.final_status::VARCHAR, r.final_error_type) AS signature
            FROM exhausted r LEFT JOIN tried t USING (request_id) LEFT JOIN done d USING (request_id)
            """,
            [options.max_attempts or 10],
        )


RULES: tuple[type[Rule], ...] = (R001, R002, R003, R004)
