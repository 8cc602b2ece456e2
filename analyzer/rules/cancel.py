"""C rules: cancellation, disconnects, child work and resources that outlive their request.

Cross-source comparisons (the gateway's cancel time against the runner's handler end) use the
replay's aligned runner times, and every threshold leaves a wide margin, so clock skew between
gateway and runners never creates a finding.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from analyzer.rules.base import Rule, RuleOptions

CANCEL_HIT = """
    c.request_id AS subject, c.attempt AS ord, c.app, c.endpoint, c.request_id, c.runner_id"""


class GraceOptions(RuleOptions):
    grace_s: float = Field(default=1.0, ge=0, description="seconds of tolerance")


class C001(Rule):
    """The caller cancelled while an attempt was running, and the cancel never reached it.

    **When it fires**: a `request.cancel_requested` arrived while an attempt's handler was
    running, no `request.cancel_forwarded` was logged for that attempt, and the handler kept
    working (it ended more than `grace_s` (1 s) after the cancel, or never ended).

    **Why it matters**: on the platform a cancellation is delivered by calling
    `<endpoint>/cancel` on the runner with the same `x-fal-request-id`; if that call is never
    made, the runner computes a result nobody wants. gRPC's cancellation doc: "the server should
    stop any ongoing computation" once the client lost interest.

    **Anti-pattern**: a gateway (or proxy) that acknowledges the cancel to the caller but does
    not forward it; an app without a `/cancel` route.

    **Best practice**: declare the cancel route next to the endpoint.

    ```python
    @fal.endpoint("/predict/cancel")
    async def predict_cancel(self, x_fal_request_id: str | None = fastapi.Header(None)):
        self._tasks[x_fal_request_id].cancel()
    ```
    """

    code = "C001"
    name = "cancel.not-forwarded"
    severity = "error"
    Options = GraceOptions

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {CANCEL_HIT}, c.requested_at AS ts,
              format('cancel requested while attempt {{}} was running on {{}}, never forwarded; '
                     || 'the handler {{}}', c.attempt, coalesce(c.runner_id, '?'),
                     CASE WHEN c.handler_stopped_at IS NULL THEN 'never stopped'
                          ELSE format('ran {{}} s more ({{}})',
                                      round(epoch(c.handler_stopped_at) - epoch(c.requested_at), 1),
                                      coalesce(c.handler_outcome, '?')) END) AS message,
              [c.requested_event_id, c.handler_end_event_id] AS evidence_ids,
              0 AS runners_killed, [c.attempt] AS blamed_attempts,
              'not forwarded' AS signature
            FROM cancellations c
            WHERE c.kind = 'cancel' AND c.handler_was_running AND c.forwarded_at IS NULL
              AND (c.handler_stopped_at IS NULL
                   OR c.handler_stopped_at > c.requested_at + to_seconds(?))
            """,
            [options.grace_s],
        )


class C002Options(RuleOptions):
    grace_s: float = Field(default=0.0, ge=0, description="seconds of tolerance (same clock)")


class C002(Rule):
    """The runner received the cancel but the handler did not stop.

    **When it fires**: `cancel.received` was logged and either its outcome was `no_task`,
    `already_done` or `error` while the handler was still running, or the handler ran to
    completion (`handler.finished` / `handler.error`) after the cancel arrived. Both times are
    the same runner's, so skew plays no part. The gateway's own cancel request is not needed:
    the platform's exports do not carry it, and a runner that received a cancel it did not
    honour is the finding whatever the gateway logged.

    **Why it matters**: the platform's documented cancel route looks the request up in a task
    registry and raises `ValueError("No task to cancel")` when it is not there: a handler that
    did not register its task, or blocking GPU work that never yields, keeps running while the
    caller was told the request is cancelled. Cancellation is cooperative.

    **Anti-pattern**: running the work outside the registered task; synchronous GPU loops that
    never check for cancellation.

    **Best practice**: register the task under the request id and stop at the next step.

    ```python
    task = asyncio.create_task(self._predict(input))
    self._tasks[x_fal_request_id] = task
    try:
        return await task
    except asyncio.CancelledError:
        raise RequestCancelledException("Request cancelled")
    ```
    """

    code = "C002"
    name = "cancel.not-honoured"
    severity = "error"
    Options = C002Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            WITH c002_received AS (  -- receipts without the gateway's cancel, filtered first:
              SELECT * FROM events r   -- the ASOF join below then sorts only their attempts
              WHERE r.event = 'cancel.received'
                AND NOT EXISTS (SELECT 1 FROM cancellations c
                                WHERE c.request_id = r.request_id AND c.kind = 'cancel')
            ),
            c002_attempts AS (
              SELECT * FROM attempts
              WHERE dispatched_at IS NOT NULL
                AND request_id IN (SELECT request_id FROM c002_received)
            )
            SELECT {CANCEL_HIT}, c.received_at AS ts,
              format('the runner received the cancel (outcome {{}}) but the handler {{}}',
                     coalesce(c.receive_outcome, '?'),
                     CASE WHEN c.handler_stopped_at IS NULL THEN 'never stopped'
                          ELSE format('ran {{}} s more and ended {{}}',
                                      round(epoch(c.handler_stopped_at) - epoch(c.received_at), 1),
                                      coalesce(c.handler_outcome, '?')) END) AS message,
              [c.received_event_id, c.handler_end_event_id, c.forwarded_event_id,
               c.requested_event_id] AS evidence_ids,
              0 AS runners_killed, [c.attempt] AS blamed_attempts,
              coalesce(c.receive_outcome, '?') AS signature
            FROM cancellations c
            WHERE c.received_at IS NOT NULL
              AND ((c.receive_outcome IN ('no_task', 'already_done', 'error')
                    AND (c.handler_stopped_at IS NULL
                         OR c.handler_stopped_at > c.received_at + to_seconds(?)))
                OR (c.handler_outcome IN ('finished', 'error')
                    AND c.handler_stopped_at > c.received_at + to_seconds(?)))
            UNION ALL
            SELECT r.request_id AS subject, a.attempt AS ord, a.app, a.endpoint, r.request_id,
              r.runner_id, r.ts,
              format('the runner received a cancel (outcome {{}}; the gateway''s cancel is not in '
                     || 'the logs) but the handler {{}}', coalesce(r.outcome, '?'),
                     CASE WHEN a.handler_ended_at IS NULL THEN 'never stopped'
                          ELSE format('ran {{}} s more and ended {{}}',
                                      round(epoch(a.handler_ended_at) - epoch(r.ts), 1),
                                      coalesce(a.handler_outcome, '?')) END) AS message,
              [r.event_id, a.handler_end_event_id] AS evidence_ids,
              0 AS runners_killed,
              [a.attempt] AS blamed_attempts,
              coalesce(r.outcome, '?') AS signature
            FROM c002_received r
            ASOF JOIN c002_attempts a
              ON a.request_id = r.request_id AND a.runner_id = r.runner_id
             AND r.ts >= a.dispatched_at
            WHERE ((r.outcome IN ('no_task', 'already_done', 'error')
                    AND (a.handler_ended_at IS NULL
                         OR a.handler_ended_at > r.ts + to_seconds(?)))
                OR (a.handler_outcome IN ('finished', 'error')
                    AND a.handler_ended_at > r.ts + to_seconds(?)))
            """,
            [options.grace_s] * 4,
        )


class C003(Rule):
    """Child work kept running more than a grace period after its handler stopped.

    **When it fires**: a child (`child.started`: a task, an upstream call, a stream) of any
    request kept running more than `grace_s` (1 s) after its handler ended, or never ended
    within the log window. Both times are the same runner's.

    **Why it matters**: the cancellation essay: work must stop when the request is gone, and
    gRPC: "cancellation operation should ideally propagate to all ongoing computation in the
    system that was initiated due to the original client RPC call". An orphaned task keeps the
    GPU, an upstream call keeps paying, a stream keeps a connection open.

    **Anti-pattern**: `asyncio.create_task(...)` without keeping the task, or an upstream call
    without passing the cancellation on.

    **Best practice**: structured concurrency: children are cancelled with their parent.

    ```python
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch_upstream(prompt))
        tg.create_task(render(prompt))
    ```
    """

    code = "C003"
    name = "cancel.orphaned-child-work"
    severity = "error"
    Options = GraceOptions

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            """
            SELECT ch.request_id AS subject, epoch(ch.started_at) AS ord, ch.app, ch.endpoint,
              ch.request_id, ch.runner_id, coalesce(ch.ended_at, ch.parent_ended_at) AS ts,
              format('child {} ({} {}) ran {} s after its handler stopped{}',
                     ch.child_id, ch.kind, coalesce(ch.name, '?'), round(ch.ran_after_parent_s, 1),
                     CASE WHEN ch.ended_at IS NULL THEN ' and never ended' ELSE '' END)
                AS message,
              [ch.ended_event_id, ch.started_event_id, a.handler_end_event_id] AS evidence_ids,
              0 AS runners_killed, [ch.attempt] AS blamed_attempts,
              concat_ws(' ', ch.kind, ch.name) AS signature
            FROM children ch
            LEFT JOIN attempts a ON a.request_id = ch.request_id AND a.attempt = ch.attempt
            WHERE ch.parent_ended_at IS NOT NULL AND ch.ran_after_parent_s > ?
            """,
            [options.grace_s],
        )


class C004Options(RuleOptions):
    threshold_s: float = Field(default=5.0, ge=0, description="cancel to handler stop")


class C004(Rule):
    """The handler stopped on cancellation, but too long after the cancel was requested.

    **When it fires**: a cancelled request's handler ended by cancellation
    (`handler.cancelled`) more than `threshold_s` (5 s) after `request.cancel_requested`
    (runner time aligned to the gateway's clock).

    **Why it matters**: cancellation is cooperative: "synchronous GPU work does not see it until
    it returns". Every second between the cancel and the stop is GPU time billed for a result
    nobody reads, and the runner is not free for the next request.

    **Anti-pattern**: one long blocking call (a full diffusion loop) between cancellation
    checks.

    **Best practice**: check for cancellation between steps.

    ```python
    for step in range(num_steps):
        if cancel_event.is_set():
            raise RequestCancelledException("Request cancelled")
        latents = pipe.step(latents, step)
    ```
    """

    code = "C004"
    name = "cancel.slow-propagation"
    severity = "warning"
    Options = C004Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {CANCEL_HIT}, c.handler_stopped_at AS ts,
              format('the handler stopped {{}} s after the cancel was requested (threshold {{}} s)',
                     round(c.propagation_s, 1), ?) AS message,
              [c.handler_end_event_id, c.received_event_id, c.forwarded_event_id,
               c.requested_event_id] AS evidence_ids,
              0 AS runners_killed, [c.attempt] AS blamed_attempts,
              'slow cancel' AS signature
            FROM cancellations c
            WHERE c.kind = 'cancel' AND c.handler_outcome = 'cancelled' AND c.propagation_s > ?
            """,
            [options.threshold_s, options.threshold_s],
        )


class C005Options(RuleOptions):
    grace_s: float = Field(default=0.0, ge=0, description="seconds of tolerance")


class C005(Rule):
    """The caller disconnected and the handler kept working to completion.

    **When it fires**: a direct caller went away (`request.client_disconnected`) while the
    handler was running, and the handler then ran to its own end (`handler.finished` or
    `handler.error`) instead of stopping.

    **Why it matters**: a direct call's result can only go to the connection that asked for it;
    once the caller is gone the rest of the work is wasted GPU time ("stop cooking when the
    table is gone"), and the runner is busy for nobody.

    **Anti-pattern**: ignoring the client's disconnect in a long handler.

    **Best practice**: check `request.is_disconnected()` between steps (or stream, so a
    disconnect cancels the handler).

    ```python
    async def predict(self, input: Input, request: fastapi.Request) -> Output:
        for step in steps:
            if await request.is_disconnected():
                raise RequestCancelledException("client went away")
            await run_step(step)
    ```
    """

    code = "C005"
    name = "cancel.work-after-disconnect"
    severity = "warning"
    Options = C005Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            SELECT {CANCEL_HIT}, c.handler_stopped_at AS ts,
              format('the caller disconnected; the handler kept working {{}} s and {{}}',
                     round(epoch(c.handler_stopped_at) - epoch(c.requested_at), 1),
                     c.handler_outcome) AS message,
              [c.handler_end_event_id, c.requested_event_id] AS evidence_ids,
              0 AS runners_killed, [c.attempt] AS blamed_attempts,
              'work after disconnect' AS signature
            FROM cancellations c
            WHERE c.kind = 'disconnect' AND c.handler_was_running
              AND c.handler_outcome IN ('finished', 'error')
              AND c.handler_stopped_at > c.requested_at + to_seconds(?)
            """,
            [options.grace_s],
        )


class C006(Rule):
    """A resource acquired by a cancelled or disconnected request was never released.

    **When it fires**: a `resource.acquired` (lock, stream, temp file, connection) of a request
    that was cancelled or whose caller disconnected has no `resource.released` in the window.

    **Why it matters**: cleanup that only runs on the happy path leaks on cancellation; the
    platform's cancellation example puts it in `finally` "to leave the app in good state". A
    leaked lock blocks the next request; leaked files and connections fill the runner until it
    fails.

    **Anti-pattern**: releasing at the end of the handler body.

    **Best practice**: acquire with a context manager (or `try`/`finally`).

    ```python
    async with self.model_lock:
        with tempfile.TemporaryDirectory() as tmp:
            return await self._predict(input, tmp)
    ```
    """

    code = "C006"
    name = "cancel.resource-not-released"
    severity = "warning"

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            """
            WITH cancelled AS (
                SELECT request_id, min(requested_event_id) AS requested_event_id,
                       string_agg(DISTINCT kind, '/') AS how
                FROM cancellations GROUP BY ALL
            )
            SELECT r.request_id AS subject, epoch(r.acquired_at) AS ord, q.app, q.endpoint,
              r.request_id, r.runner_id, r.acquired_at AS ts,
              format('{} {} acquired by a {} request was never released',
                     coalesce(r.kind, 'resource'), r.resource_id,
                     CASE WHEN k.how = 'disconnect' THEN 'disconnected' ELSE 'cancelled' END)
                AS message,
              [r.acquired_event_id, k.requested_event_id] AS evidence_ids,
              0 AS runners_killed, []::INTEGER[] AS blamed_attempts,
              coalesce(r.kind, 'resource') AS signature
            FROM resources r JOIN cancelled k ON k.request_id = r.request_id
            LEFT JOIN requests q ON q.request_id = r.request_id
            WHERE r.released_at IS NULL
            """,
            [],
        )


class C007Options(RuleOptions):
    tolerance_s: float = Field(default=0.5, ge=0, description="seconds of tolerance")


class C007(Rule):
    """Child work was started with a deadline longer than the parent's remaining budget.

    **When it fires**: a `child.started` carries a `deadline_s` greater than the parent
    request's remaining budget at that moment (the caller's deadline minus the time already
    spent) plus `tolerance_s` (0.5 s).

    **Why it matters**: deadlines propagate: gRPC and the cancellation essay both pass the
    *remaining* budget downstream. A child allowed to outlive its parent's deadline keeps
    working (and paying an upstream) after the caller got its 504.

    **Anti-pattern**: a fixed `timeout=60` on an upstream call inside a request that has 10 s
    left.

    **Best practice**: derive the child's timeout from the remaining budget.

    ```python
    remaining = deadline - time.monotonic()
    r = await client.post(url, json=payload, timeout=max(0.1, remaining))
    ```
    """

    code = "C007"
    name = "cancel.child-deadline-exceeds-parent"
    severity = "warning"
    Options = C007Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            """
            SELECT ch.request_id AS subject, epoch(ch.started_at) AS ord, ch.app, ch.endpoint,
              ch.request_id, ch.runner_id, ch.started_at AS ts,
              format('child {} ({} {}) started with a {} s deadline while the request had {} s '
                     || 'left', ch.child_id, ch.kind, coalesce(ch.name, '?'), ch.deadline_s,
                     round(ch.parent_budget_s, 1)) AS message,
              [ch.started_event_id, ch.ended_event_id] AS evidence_ids,
              0 AS runners_killed,
              [ch.attempt] AS blamed_attempts,
              concat_ws(' ', ch.kind, ch.name) AS signature
            FROM children ch
            WHERE ch.deadline_s IS NOT NULL AND ch.parent_budget_s IS NOT NULL
              AND ch.deadline_s > ch.parent_budget_s + ?
            """,
            [options.tolerance_s],
        )


RULES: tuple[type[Rule], ...] = (C001, C002, C003, C004, C005, C006, C007)
