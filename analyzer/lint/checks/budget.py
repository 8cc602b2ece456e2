"""Budget checks: child deadlines and retries against the app's ``request_timeout``.

C007 and R003 mean what they mean in the logs: a child allowed more time than its parent
has, and a timeout retried (each attempt killing a runner) for work that may exceed it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from analyzer.lint.apps import App
from analyzer.lint.checks.base import Hit, Module, SourceCheck
from analyzer.lint.context import short
from analyzer.lint.walk import walk

POSITIONAL_TIMEOUT = {
    "asyncio.timeout": 0,
    "asyncio.wait_for": 1,
    "anyio.fail_after": 0,
    "anyio.move_on_after": 0,
    "httpx.Timeout": 0,
    "async_timeout.timeout": 0,
}
TIMEOUT_KEYWORDS = ("timeout", "total", "read_timeout")


@dataclass(frozen=True)
class Budget:
    node: ast.expr
    seconds: float
    call: ast.Call
    sleep: bool


def _number(node: ast.expr, module: Module) -> float | None:
    n = module.names.number(node)
    return n if n is not None and n > 0 else None


def budgets(app: App, module: Module) -> Iterator[Budget]:
    """Every literal time allowance in the app's handler scope (timeouts and sleeps)."""
    for func in app.handler_scope():
        for call in (n for n in walk(func) if isinstance(n, ast.Call)):
            q = module.names.qualname(call.func) or ""
            if q == "asyncio.sleep" and call.args:
                s = _number(call.args[0], module)
                if s is not None:
                    yield Budget(call.args[0], s, call, True)
                continue
            nodes: list[ast.expr] = []
            if q in POSITIONAL_TIMEOUT and len(call.args) > POSITIONAL_TIMEOUT[q]:
                nodes.append(call.args[POSITIONAL_TIMEOUT[q]])
            nodes += [k.value for k in call.keywords if k.arg in TIMEOUT_KEYWORDS]
            for node in nodes:
                s = _number(node, module)
                if s is not None:
                    yield Budget(node, s, call, False)


def request_timeout(app: App) -> float | None:
    v = app.setting("request_timeout")
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None


class ChildTimeoutBeyondRequestTimeout(SourceCheck):
    """A child timeout in a handler (`asyncio.timeout(s)`, `asyncio.wait_for(aw, s)`,
    `httpx.Timeout(s)`, any call's `timeout=s`) longer than the app's `request_timeout`."""

    code = "C007"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            limit = request_timeout(app)
            if limit is None:
                continue
            for b in budgets(app, module):
                if b.sleep or b.seconds <= limit:
                    continue
                yield Hit(
                    self.code,
                    b.node,
                    f"`{short(b.call)}` allows {b.seconds:g} s but request_timeout is {limit:g} s: "
                    "the gateway kills the request and the runner first; keep child deadlines "
                    "inside the request's budget",
                    app.name,
                )


class TimeoutRetriedForLongWork(SourceCheck):
    """An app sets `request_timeout`, leaves the `timeout` retry condition on (no
    `skip_retry_conditions = ["timeout"]`), and its handlers allow work longer than it (a
    child timeout or `asyncio.sleep` beyond the limit). Reported at the setting."""

    code = "R003"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            limit = request_timeout(app)
            setting = app.settings.get("request_timeout")
            if limit is None or setting is None:
                continue
            skip = app.setting("skip_retry_conditions")
            if "skip_retry_conditions" in app.settings and not isinstance(skip, list):
                continue  # not a literal: cannot tell
            if isinstance(skip, list) and "timeout" in skip:
                continue
            longer = [b for b in budgets(app, module) if b.seconds > limit]
            if not longer:
                continue
            worst = max(longer, key=lambda b: b.seconds)
            own = setting.owner == app.name  # else inherited, maybe from another file
            yield Hit(
                self.code,
                setting.node if own else app.node,
                f"request_timeout = {limit:g} s"
                + ("" if own else f" (inherited from {setting.owner})")
                + " with the timeout retry condition on, but "
                f"{app.name} allows {worst.seconds:g} s (`{short(worst.call)}`, line "
                f"{worst.node.lineno}): each such request is retried up to 10 times, each "
                'attempt killing a runner; set skip_retry_conditions = ["timeout"] or raise '
                "request_timeout",
                app.name,
            )


CHECKS: list[type[SourceCheck]] = [ChildTimeoutBeyondRequestTimeout, TimeoutRetriedForLongWork]
