"""S rules: the status code an app answered does not fit the error it met.

Each query reads ``attempts`` with its ``error_class`` (the replay's verdict on the attempt's
exception, under the policy's error classes: see :mod:`analyzer.classify`) and yields one hit
per attempt; the engine keeps one finding per request.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from analyzer.rules.base import Rule, RuleOptions


def sdk_markers() -> str:
    """The SDK's GPU marker words as a regular-expression group (the one mapping,
    :mod:`analyzer.sdk`: a leaf module, so building the query loads neither DuckDB for
    `analyzer lint` nor the importers package for `analyzer check --db`)."""
    from analyzer.sdk import LATEST

    return "(" + "|".join(LATEST.gpu_markers) + ")"


def __getattr__(name: str) -> str:
    if name == "SDK_MARKERS":  # the former constant: sdk_markers()
        return sdk_markers()
    raise AttributeError(f"module 'analyzer.rules.status' has no attribute {name!r}")


# The columns every attempt-level hit shares (``a`` = attempts).
ATTEMPT_HIT = """
    a.request_id AS subject, a.attempt AS ord, a.app, a.endpoint, a.request_id, a.runner_id,
    coalesce(a.answered_at, a.handler_ended_at, a.dispatched_at) AS ts"""
EXC_TEXT = (
    "coalesce(a.exc_type, 'an error') || "
    "coalesce(': ' || left(regexp_replace(a.exc_message, '\\s+', ' ', 'g'), 120), '')"
)
# Runner-side evidence first (the app's decision), then the gateway's answer and termination.
ATTEMPT_EVIDENCE = (
    "[a.handler_end_event_id, a.answered_event_id, a.terminated_event_id, a.dispatched_event_id]"
)
SIGNATURE = "concat_ws(' ', a.status::VARCHAR, a.exc_type)"
KILLED = "CASE WHEN a.runner_terminated THEN 1 ELSE 0 END AS runners_killed"


class S001Options(RuleOptions):
    legitimate_classes: list[str] | None = Field(
        default=None,
        description="error classes for which a 503 is right (None: the policy's "
        "legitimate_503_classes, gpu_fault by default)",
    )


class S001(Rule):
    """An attempt answered 503 for an ordinary error, and the runner was (or would be) killed.

    **When it fires**: the gateway saw a 503 for an attempt whose `handler.error` is not a GPU or
    runner-state fault (the classifier: out of memory, CUDA / cuDNN / NCCL / cuBLAS / driver
    errors, device-side asserts, corrupted state), and the runner was terminated or, by policy,
    would be (the answer did not carry `x-fal-stop-runner: false`). A legitimate OOM 503 and a
    503 sent with `stop_runner: false` do not fire.

    **Why it matters**: the platform terminates a runner immediately after a single 503 and
    retries a queued request on a new runner, up to 10 times ("Never return 503 for normal
    application errors. A single 503 immediately kills your runner"). The platform's own SDK
    answers 503 for any exception whose message merely *mentions* a GPU word (cuda, triton,
    nccl...), so `ValueError: unsupported triton kernel option` kills healthy runners and pays a
    cold start for each of them.

    **Anti-pattern**: letting an input or application error escape as 503, or raising an
    exception whose message contains "cuda"/"triton" for a plain bad argument.

    **Best practice**: 422 for bad input, 500 for an application failure on a healthy runner;
    keep 503 for a broken GPU.

    ```python
    except ValueError as e:
        return JSONResponse(status_code=422, content={"detail": str(e)})
    except torch.cuda.OutOfMemoryError:
        return JSONResponse(status_code=503, content={"detail": "GPU out of memory"})
    ```
    """

    code = "S001"
    name = "status.503-for-ordinary-error"
    severity = "error"
    Options = S001Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered 503 for an ordinary error ({{}}); runner {{}} {{}}{{}}',
                     a.attempt, {EXC_TEXT}, coalesce(a.runner_id, '?'),
                     CASE WHEN a.runner_terminated THEN 'was terminated'
                          ELSE 'would be terminated by policy' END,
                     coalesce(' (the SDK answers 503 for any message mentioning "'
                              || nullif(regexp_extract(lower(a.exc_message), ?), '') || '")',
                              '')) AS message,
              {ATTEMPT_EVIDENCE} AS evidence_ids,
              {KILLED},
              [a.attempt] AS blamed_attempts,
              {SIGNATURE} AS signature
            FROM attempts a
            WHERE a.status = 503 AND NOT list_contains(?::VARCHAR[], a.error_class)
              AND a.stop_runner IS DISTINCT FROM false
              AND (a.runner_terminated OR coalesce(a.expected_runner_impact = 'terminated', true))
            """,
            [sdk_markers(), options.legitimate_classes or ["gpu_fault"]],
        )


class S002Options(RuleOptions):
    statuses: list[int] = Field(default=[500, 502, 504], description="server-error answers")


class S002(Rule):
    """A server error (500/502/504) was answered for bad input or a validation failure.

    **When it fires**: an attempt answered 500, 502 or 504 with a `bad_input` error
    (ValidationError, RequestValidationError, FieldException, ValueError/KeyError/TypeError,
    "invalid", "missing field", "must be").

    **Why it matters**: the seeds' table says bad user input or a validation failure is a
    client error: "422 or 400 — client error, runner stays healthy". A 500/502 triggers a TCP
    health check on the runner; a 504 requeues the request, so the same bad input is run again
    on GPU time; callers cannot tell their mistake from an outage.

    **Anti-pattern**: `raise` on a missing field, leaving the SDK to answer 500.

    **Best practice**: validate the input and answer 422 (or 400) with the reason.

    ```python
    if "prompt" not in payload:
        return JSONResponse(status_code=422, content={"detail": "missing field: prompt"})
    ```
    """

    code = "S002"
    name = "status.server-error-for-bad-input"
    severity = "warning"
    Options = S002Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered {{}} for bad input ({{}}); answer 422 or 400',
                     a.attempt, a.status, {EXC_TEXT}) AS message,
              {ATTEMPT_EVIDENCE} AS evidence_ids,
              {KILLED},
              [a.attempt] AS blamed_attempts,
              {SIGNATURE} AS signature
            FROM attempts a
            WHERE list_contains(?::INTEGER[], a.status) AND a.error_class = 'bad_input'
            """,
            [list(options.statuses)],
        )


class S003(Rule):
    """A rate-limit condition was answered with a 5xx instead of 429.

    **When it fires**: an attempt answered 500-599 with a `rate_limit` error (RateLimitError,
    TooManyRequests, "rate limit", "429", "too many requests", quota exceeded).

    **Why it matters**: the seeds recommend 429 for "Rate limiting the caller": a client error,
    the runner stays healthy. A 5xx instead runs a health check (500/502), requeues the request
    into the same limit (504), or kills the runner (503).

    **Anti-pattern**: letting an upstream `RateLimitError` bubble up as 500/503.

    **Best practice**: answer 429 with a `Retry-After` header.

    ```python
    except openai.RateLimitError:
        return JSONResponse(status_code=429, headers={"Retry-After": "10"},
                            content={"detail": "upstream rate limit"})
    ```
    """

    code = "S003"
    name = "status.rate-limit-not-429"
    severity = "warning"

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered {{}} for a rate limit ({{}}); answer 429',
                     a.attempt, a.status, {EXC_TEXT}) AS message,
              {ATTEMPT_EVIDENCE} AS evidence_ids,
              {KILLED},
              [a.attempt] AS blamed_attempts,
              {SIGNATURE} AS signature
            FROM attempts a
            WHERE a.status BETWEEN 500 AND 599 AND a.error_class = 'rate_limit'
            """,
            [],
        )


class S004(Rule):
    """A 4xx was answered for a GPU or runner-state fault: the broken runner keeps serving.

    **When it fires**: an attempt answered 400-499 with a `gpu_fault` error (CUDA out of memory,
    CUDA/cuDNN/NCCL/driver errors, device-side assert, corrupted state).

    **Why it matters**: "2XX and 4XX — the runner remains healthy and continues serving
    requests. 4XX responses are treated as client errors and are never retried." A runner whose
    GPU is broken keeps taking traffic and failing it, and the caller is blamed and not retried.
    503 is the documented answer for "GPU OOM, corrupted model state, runner broken".

    **Anti-pattern**: a blanket `except Exception: return 400`.

    **Best practice**: answer 503 (or send `x-fal-stop-runner: true`) for GPU faults.

    ```python
    except torch.cuda.OutOfMemoryError:
        return JSONResponse(status_code=503, content={"detail": "GPU out of memory"})
    ```
    """

    code = "S004"
    name = "status.client-error-hides-runner-fault"
    severity = "error"

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered {{}} for a GPU fault ({{}}); runner {{}} keeps serving',
                     a.attempt, a.status, {EXC_TEXT}, coalesce(a.runner_id, '?')) AS message,
              {ATTEMPT_EVIDENCE} AS evidence_ids,
              0 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              {SIGNATURE} AS signature
            FROM attempts a
            WHERE a.status BETWEEN 400 AND 499 AND a.error_class = 'gpu_fault'
            """,
            [],
        )


class S005(Rule):
    """The app answered 504 though none of its upstream work timed out: a needless requeue.

    **When it fires**: an attempt was answered 504 by the app (an `attempt.finished`, not the
    gateway's own `request_timeout`), and no child work of that attempt ended with outcome
    `timeout`.

    **Why it matters**: 504 means "External API or dependency timed out": the platform runs a
    TCP health check and requeues the request for another attempt. Used for anything else, it
    re-runs work that will fail the same way and hides the real error.

    **Anti-pattern**: mapping every slow or failed step to 504.

    **Best practice**: 504 only when an upstream call really timed out; 500 otherwise.

    ```python
    try:
        r = await client.post(url, timeout=30)
    except httpx.TimeoutException:
        return JSONResponse(status_code=504, content={"detail": "upstream timed out"})
    ```
    """

    code = "S005"
    name = "status.504-without-upstream-timeout"
    severity = "warning"

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered 504 ({{}}) but no upstream work timed out',
                     a.attempt, {EXC_TEXT}) AS message,
              [a.answered_event_id, a.handler_end_event_id, a.dispatched_event_id] AS evidence_ids,
              0 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              {SIGNATURE} AS signature
            FROM attempts a
            WHERE a.status = 504
              AND coalesce(a.error_type, '') NOT IN ('request_timeout', 'startup_timeout')
              AND NOT EXISTS (
                  SELECT 1 FROM children c
                  WHERE c.request_id = a.request_id AND c.attempt = a.attempt
                    AND c.outcome = 'timeout')
            """,
            [],
        )


class S006Options(RuleOptions):
    allowed_statuses: list[int] = Field(
        default=[408, 429], description="4xx for which a forced retry is legitimate"
    )


class S006(Rule):
    """`X-Fal-Needs-Retry: 1` was sent on a client error: the same bad input is retried.

    **When it fires**: an attempt answered 4xx (other than 408 and 429) with
    `needs_retry: true`.

    **Why it matters**: "X-Fal-Needs-Retry takes precedence over the status-code-based logic
    and skip_retry_conditions": forcing a retry of a 4xx sends input that was already judged
    wrong to another runner, up to 10 times, and delays the caller's error.

    **Anti-pattern**: setting `X-Fal-Needs-Retry: 1` on every error response.

    **Best practice**: force retries only for transient failures; never on a 4xx.

    ```python
    return JSONResponse(status_code=500, headers={"X-Fal-Needs-Retry": "1"},
                        content={"detail": "transient error"})
    ```
    """

    code = "S006"
    name = "status.forced-retry-of-client-error"
    severity = "warning"
    Options = S006Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {ATTEMPT_HIT},
              format('attempt {{}} answered {{}} with X-Fal-Needs-Retry: 1; a client error '
                     || 'will fail again', a.attempt, a.status) AS message,
              [a.answered_event_id, a.handler_end_event_id, a.dispatched_event_id] AS evidence_ids,
              0 AS runners_killed,
              coalesce((SELECT list(b.attempt ORDER BY b.attempt) FROM attempts b
                        WHERE b.request_id = a.request_id AND b.attempt > a.attempt), [])
                AS blamed_attempts,
              concat_ws(' ', a.status::VARCHAR, a.exc_type) AS signature
            FROM attempts a
            WHERE a.needs_retry AND a.status BETWEEN 400 AND 499
              AND NOT list_contains(?::INTEGER[], a.status)
            """,
            [list(options.allowed_statuses)],
        )


RULES: tuple[type[Rule], ...] = (S001, S002, S003, S004, S005, S006)
