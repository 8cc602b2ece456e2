"""A rules: misuses only an app's source shows (``analyzer lint``); they have no log query.

Checks that mean the same in source as in the logs reuse the log rule's code (S001 for a 503
answered in an ``except ValueError``); see :mod:`analyzer.lint.checks`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from analyzer.rules.base import Rule


class SourceRule(Rule):
    """Base of the rules found only in source: ``analyzer check`` never selects them."""

    source_only: ClassVar[bool] = True

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        raise NotImplementedError(f"{self.code} is found in source only (analyzer lint)")


class A001(SourceRule):
    """An ordinary exception is raised with a GPU word in its message: the SDK answers 503.

    **When it fires**: `raise ValueError(...)` (or `KeyError`, `TypeError`, `LookupError`,
    `AssertionError` via `assert ..., "msg"`, a validation error...) whose message text contains
    one of the SDK's GPU marker words: cuda, cudnn, nvml, nccl, cublas, cufft, cusolver,
    cusparse, triton (case-insensitive, as a substring: `cuda_device` counts). `HTTPException`,
    `AppException` and their kin are not matched (their status is their own), nor are
    `RuntimeError` and GPU exception types (real GPU faults use them).

    **Why it matters**: the fal SDK's last-resort handler answers **503** for any unhandled
    exception whose lower-cased message contains a marker word, and a single 503 terminates the
    runner and requeues the request (up to 10 attempts). `ValueError("unsupported triton kernel
    option")` is bad input, yet it kills a healthy runner on every retry.

    **Anti-pattern**: naming the GPU stack in the message of an input or configuration error.

    ```python
    if opts.kernel not in KERNELS:
        raise ValueError(f"unsupported triton kernel {opts.kernel}")
    ```

    **Best practice**: answer bad input with 422 explicitly (or word the message without the
    marker words), so the SDK's GPU heuristic never sees it.

    ```python
    if opts.kernel not in KERNELS:
        raise FieldException("kernel", f"unsupported kernel {opts.kernel}")
    ```
    """

    code = "A001"
    name = "status.gpu-word-in-ordinary-error"
    severity = "error"


class A002(SourceRule):
    """An async endpoint does long work but the app declares no `<path>/cancel` route.

    **When it fires**: an `async def` method decorated with `@fal.endpoint("/p")` (or a FastAPI
    route of the app) awaits a model, an upstream call or `asyncio.sleep`, or starts tasks,
    and the app has no route `/p/cancel`. WebSocket and realtime endpoints, synchronous
    endpoints and endpoints that await nothing do not fire.

    **Why it matters**: the platform forwards a caller's cancel as a call to `<path>/cancel`
    with the same `x-fal-request-id`; there is no built-in handling. Without the route the
    cancel answers 404 and the handler keeps the GPU busy until it finishes, for a caller who
    has gone (C002 in the logs).

    **Anti-pattern**: a long async endpoint and no cancel route.

    ```python
    @fal.endpoint("/predict")
    async def predict(self, input: Input) -> Output:
        return await self.pipeline(input)
    ```

    **Best practice**: keep the request's task in a registry by request id and declare the
    cancel route (the platform's own example):

    ```python
    @fal.endpoint("/predict/cancel")
    async def predict_cancel(self, x_fal_request_id: str | None = fastapi.Header(None)):
        self._tasks[x_fal_request_id].cancel()
    ```
    """

    code = "A002"
    name = "cancel.no-cancel-route"
    severity = "warning"


RULES: list[type[Rule]] = [A001, A002]
