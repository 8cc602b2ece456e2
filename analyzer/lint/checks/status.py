"""Status checks: the answer written in the code does not fit the error it handles.

S001, S002, S004, S005, S006 mean what they mean in the logs (docs/rules.md); A001 exists only
in source. Every answer site of a module that imports fal is looked at (helpers too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from analyzer.lint.apps import Func
from analyzer.lint.checks.base import Hit, Module, SourceCheck
from analyzer.lint.context import (
    FALSE_VALUES,
    GPU_MARKERS,
    TRUE_VALUES,
    Answer,
    Where,
    classify_handler,
    enclosing,
    handler_types,
    header_is,
    is_fault_test,
    short,
    under_gpu_condition,
)
from analyzer.lint.names import last, literal_text
from analyzer.lint.walk import walk

NOT_INPUT = frozenset({"self", "cls", "request", "req", "websocket", "ws", "response"})
UPSTREAM_ROOTS = frozenset(
    {
        "httpx",
        "requests",
        "aiohttp",
        "urllib",
        "urllib3",
        "grpc",
        "fal_client",
        "openai",
        "anthropic",
        "boto3",
        "botocore",
        "aioboto3",
        "redis",
        "websockets",
        "asyncpg",
        "psycopg",
        "psycopg2",
        "pymongo",
        "motor",
        "google",
    }
)
UPSTREAM_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "request", "stream", "send", "fetch"}
)


def input_names(func: Func | None) -> set[str]:
    if func is None:
        return set()
    a = func.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    return {p.arg for p in params if p.arg not in NOT_INPUT and not p.arg.startswith("x_fal_")}


def validation_branch(where: Where, func: Func | None) -> ast.If | None:
    """An enclosing ``if`` that tests the handler's input (and no GPU condition)."""
    inputs = input_names(func)
    for branch, _holds in where.branches:
        used = {n.id for n in ast.walk(branch.test) if isinstance(n, ast.Name)}
        if (
            used & inputs
            and _checks_validity(branch.test)
            and not is_fault_test(branch.test, where)
        ):
            return branch
    return None


_VALIDITY_OPS = (ast.Is, ast.IsNot, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.NotIn, ast.NotEq)


def _checks_validity(test: ast.expr) -> bool:
    """A test that judges the input (``not x``, ``x is None``, ``len(x) > n``, ``x not in OK``,
    ``not isinstance(...)``), not one that dispatches on it (``mode == "fast"``, ``x in MODES``)."""
    for n in ast.walk(test):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            return True
        if isinstance(n, ast.Compare) and any(isinstance(op, _VALIDITY_OPS) for op in n.ops):
            return True
    return False


def _caught(handler: ast.ExceptHandler, module: Module) -> str:
    types = handler_types(handler, module.names)
    if handler.type is None:
        return "a bare `except:`"
    return f"`except {', '.join(types) or short(handler.type)}`"


def _where_answered(
    answer: Answer, where: Where, func: Func | None, module: Module, caught: Mapping[str, str]
) -> str | None:
    """Why ``answer`` is wrong where it is written: in an ``except`` of a kind of error in
    ``caught`` (:func:`classify_handler`'s kind -> what to say of it, "" for nothing), or, out
    of any ``except``, in a branch that validates the handler's input; None when neither."""
    if where.handlers:
        handler = where.handlers[0]
        what = caught.get(classify_handler(handler, module.names))
        if what is None:
            return None
        return f"{answer.status} answered in {_caught(handler, module)}" + (
            f" ({what})" if what else ""
        )
    branch = validation_branch(where, func)
    if branch is None:
        return None
    return f"{answer.status} answered for input validation (`if {short(branch.test)}`)"


_ORDINARY = "an ordinary error, not a GPU fault"
S001_CAUGHT = {
    "ordinary": _ORDINARY,
    "validation": _ORDINARY,
    "timeout": _ORDINARY,
    "broad": "any error, ordinary ones included",
}


def _killed(module: Module, node: ast.AST) -> str:
    app = module.app_of(node)
    mux = app.setting("max_multiplexing") if app else None
    if isinstance(mux, int) and mux > 1:
        return f"the runner (and up to {mux - 1} other requests in flight on it) is killed"
    return "the runner is killed"


def _names(module: Module, node: ast.AST, func: Func | None) -> tuple[str | None, str | None]:
    app = module.app_of(node)
    return (app.name if app else None), (func.name if func else None)


def _answer_hit(code: str, module: Module, answer: Answer, func: Func | None, message: str) -> Hit:
    """A hit at the answer's call, named by its app and function."""
    app, fn = _names(module, answer.call, func)
    return Hit(code, answer.call, message, app, fn)


class Status503ForOrdinaryError(SourceCheck):
    """A 503 (`JSONResponse(status_code=503)`, `Response(...)`, `HTTPException(503)`,
    `AppException(..., status_code=503)`) built in an `except` of an ordinary error
    (ValueError, KeyError, TypeError, validation and HTTP-client errors; also a broad
    `except Exception` / bare `except:`), or in a branch that validates the handler's input.
    A 503 under an OOM / CUDA condition or `except torch.cuda.OutOfMemoryError`, or sent with
    `x-fal-stop-runner: false`, does not fire."""

    code = "S001"

    def run(self, module: Module) -> Iterator[Hit]:
        for answer, where, func in module.answers:
            if answer.status != 503 or header_is(answer, "x-fal-stop-runner", FALSE_VALUES):
                continue
            if under_gpu_condition(where):
                continue
            why = _where_answered(answer, where, func, module, S001_CAUGHT)
            if why is None:
                continue
            message = (
                f"{why}: {_killed(module, answer.call)} and the request requeued; "
                "answer 422 for bad input, 500 for an app error"
            )
            yield _answer_hit(self.code, module, answer, func, message)


class ServerErrorForBadInput(SourceCheck):
    """A 500, 502 or 504 built in an `except` of a validation error (pydantic
    `ValidationError`, `RequestValidationError`, `JSONDecodeError`, an unreadable image) or
    in a branch that validates the handler's input. 503 there is S001."""

    code = "S002"

    def run(self, module: Module) -> Iterator[Hit]:
        for answer, where, func in module.answers:
            statuses = self.options.statuses  # S002Options
            if answer.status not in statuses or under_gpu_condition(where):
                continue
            why = _where_answered(answer, where, func, module, {"validation": ""})
            if why is None:
                continue
            message = (
                f"{why}: bad input is the caller's error; answer 422 (or 400) so the runner "
                "is not health-checked and the caller is told what to fix"
            )
            yield _answer_hit(self.code, module, answer, func, message)


class ClientErrorForGpuFault(SourceCheck):
    """A 4xx built in an `except` of a GPU fault (`torch.cuda.OutOfMemoryError`, the SDK's
    `GPUException`, anything named CUDA / OOM) or under a condition testing for one
    (`if "out of memory" in str(e)`)."""

    code = "S004"

    def run(self, module: Module) -> Iterator[Hit]:
        for answer, where, func in module.answers:
            if not 400 <= answer.status < 500 or answer.status == 499:
                continue
            gpu_handler = bool(where.handlers) and (
                classify_handler(where.handlers[0], module.names) == "gpu"
            )
            if not (gpu_handler or under_gpu_condition(where)):
                continue
            message = (
                f"{answer.status} answered for a GPU fault: the broken runner keeps serving and "
                "the caller is not retried; answer 503 (or raise GPUException)"
            )
            yield _answer_hit(self.code, module, answer, func, message)


def _calls_upstream(funcs: list[Func], module: Module) -> bool:
    for f in funcs:
        for n in walk(f):
            if not isinstance(n, ast.Call):
                continue
            q = module.names.qualname(n.func) or ""
            if q.split(".")[0] in UPSTREAM_ROOTS or q in ("asyncio.wait_for", "asyncio.timeout"):
                return True
            if isinstance(n.func, ast.Attribute) and n.func.attr in UPSTREAM_METHODS:
                receiver = ast.unparse(n.func.value).lower()
                if any(w in receiver for w in ("client", "session", "http", "api", "upstream")):
                    return True
    return False


class GatewayTimeoutWithoutUpstream(SourceCheck):
    """A 504 from a handler that calls no upstream (no HTTP client, SDK client or database
    call, no `asyncio.wait_for` / `asyncio.timeout` in the handler or the methods it calls),
    outside an `except` of a timeout error."""

    code = "S005"

    def run(self, module: Module) -> Iterator[Hit]:
        for answer, where, func in module.answers:
            if answer.status != 504 or func is None:
                continue
            if where.handlers and classify_handler(where.handlers[0], module.names) == "timeout":
                continue
            app_obj = module.app_of(answer.call)
            scope = [func]
            if app_obj is not None:
                for r in app_obj.routes:
                    reach = app_obj.scope(r.func)
                    if any(f is func for f in reach):
                        scope = reach
                        break
            if _calls_upstream(scope, module):
                continue
            message = (
                "504 answered by a handler that calls no upstream: the request is requeued and "
                "the runner health-checked for nothing; answer 500 (or 422 for bad input)"
            )
            yield _answer_hit(self.code, module, answer, func, message)


class ForcedRetryOfClientError(SourceCheck):
    """`X-Fal-Needs-Retry: 1` (or `true`) in the headers of a 4xx answer other than 408 and
    429."""

    code = "S006"

    def run(self, module: Module) -> Iterator[Hit]:
        for answer, _where, func in module.answers:
            allowed = self.options.allowed_statuses  # S006Options
            if not 400 <= answer.status < 500 or answer.status in allowed:
                continue
            if not header_is(answer, "x-fal-needs-retry", TRUE_VALUES):
                continue
            message = (
                f"X-Fal-Needs-Retry: 1 on a {answer.status}: the same input fails again on every "
                "retry; drop the header (or answer 5xx if the fault is transient)"
            )
            yield _answer_hit(self.code, module, answer, func, message)


ORDINARY_RAISE = frozenset(
    {
        "ValueError",
        "KeyError",
        "TypeError",
        "IndexError",
        "LookupError",
        "AttributeError",
        "NameError",
        "NotImplementedError",
        "FileNotFoundError",
        "PermissionError",
        "AssertionError",
        "ZeroDivisionError",
        "UnicodeError",
        "ValidationError",
    }
)


def _marker(text: str) -> str | None:
    low = text.lower()
    return next((m for m in GPU_MARKERS if m in low), None)


class GpuWordInOrdinaryError(SourceCheck):
    """`raise ValueError(...)` (or another ordinary exception type, or `assert ..., "msg"`)
    whose message's literal text contains one of the SDK's GPU marker words. Raised inside an
    `except` of a GPU fault, it does not fire."""

    code = "A001"

    def run(self, module: Module) -> Iterator[Hit]:
        if not module.uses_fal:
            return
        for node in module.of_kind("raises"):
            msg: ast.expr | None = None
            exc = ""
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                exc = last(module.names.qualname(node.exc.func))
                if exc in ORDINARY_RAISE and node.exc.args:
                    msg = node.exc.args[0]
            elif isinstance(node, ast.Assert) and node.msg is not None:
                exc, msg = "AssertionError", node.msg
            if msg is None:
                continue
            word = _marker(literal_text(msg))
            if word is None:
                continue
            where = enclosing(node, module.parents)
            if where.handlers and classify_handler(where.handlers[0], module.names) == "gpu":
                continue
            func = module.function_of(node)
            app, fn = _names(module, node, func)
            yield Hit(
                self.code,
                node,
                f"{exc} with {word!r} in its message: the fal SDK answers 503 for it, so "
                f"{_killed(module, node)} for an ordinary error; reword the message or answer "
                "422/500 explicitly",
                app,
                fn,
            )


CHECKS: list[type[SourceCheck]] = [
    Status503ForOrdinaryError,
    ServerErrorForBadInput,
    ClientErrorForGpuFault,
    GatewayTimeoutWithoutUpstream,
    ForcedRetryOfClientError,
    GpuWordInOrdinaryError,
]
