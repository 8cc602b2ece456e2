"""Cancellation checks: what happens to a request's work when the caller cancels.

A002 (no cancel route) exists only in source; C002, C003 and C006 mean what they mean in the
logs. The handler scope of an app is its routes and the methods they reach (not ``setup``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analyzer.lint.apps import App, Func, Route, norm_path
from analyzer.lint.checks.base import Hit, Module, SourceCheck
from analyzer.lint.context import short
from analyzer.lint.names import last
from analyzer.lint.walk import walk

TASK_STARTERS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
LONG_CALLS = frozenset(
    {
        "asyncio.sleep",
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.gather",
        "asyncio.wait",
        "asyncio.wait_for",
        "asyncio.to_thread",
        "asyncio.TaskGroup",
    }
)
QUICK_AWAITS = frozenset({"json", "body", "form", "is_disconnected", "receive", "send_json"})


def _calls(funcs: list[Func]) -> Iterator[ast.Call]:
    for f in funcs:
        for n in walk(f):
            if isinstance(n, ast.Call):
                yield n


def _is_own_method(func: ast.expr, app: App) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "self"
        and func.attr in app.methods
    )


def long_work(app: App, route: Route, module: Module) -> ast.expr | None:
    """The first await or task start that makes ``route`` long work, if any."""
    for f in app.scope(route.func):
        for n in walk(f):
            if isinstance(n, ast.Await):
                v = n.value
                if isinstance(v, ast.Call):
                    q = module.names.qualname(v.func) or ""
                    if q == "asyncio.sleep" and v.args and module.names.number(v.args[0]) == 0:
                        continue
                    if isinstance(v.func, ast.Attribute) and v.func.attr in QUICK_AWAITS:
                        continue
                    if _is_own_method(v.func, app):
                        continue  # its body is in the scope: what it awaits decides
                return n
            if isinstance(n, ast.Call):
                q = module.names.qualname(n.func) or ""
                if q in LONG_CALLS or (
                    isinstance(n.func, ast.Attribute) and n.func.attr == "run_in_executor"
                ):
                    return n
    return None


class NoCancelRoute(SourceCheck):
    """An `async def` endpoint (or FastAPI route of the app) that awaits work (a model, an
    upstream call, `asyncio.sleep`) or starts tasks, itself or in the app methods it calls, in
    an app with no `<path>/cancel` route. WebSocket, realtime and synchronous endpoints are not
    looked at, nor an `async def` whose work never awaits (a cancel could not interrupt it)."""

    code = "A002"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            paths = app.route_paths()
            for route in app.routes:
                if route.kind not in ("endpoint", "fastapi") or not route.is_async:
                    continue
                if route.path is None or norm_path(route.path).endswith("/cancel"):
                    continue
                cancel = norm_path(route.path).rstrip("/") + "/cancel"
                if cancel.replace("//", "/") in paths:
                    continue
                work = long_work(app, route, module)
                if work is None:
                    continue
                yield Hit(
                    self.code,
                    route.func,
                    f"async endpoint {route.path} waits on `{short(work)}` (line {work.lineno}) "
                    f"but {app.name} has no {cancel.replace('//', '/')} route: a cancel answers "
                    "404 and the work runs on",
                    app.name,
                    route.func.name,
                )


def _self_attrs(node: ast.AST) -> set[str]:
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
    }


def registries(funcs: list[Func]) -> set[str]:
    """``self`` attributes a handler stores its task (or event) in: ``self.X[k] = t``,
    ``self.X.add(t)`` / ``append`` / ``setdefault``."""
    out: set[str] = set()
    for f in funcs:
        for n in walk(f):
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Subscript):
                        out |= _self_attrs(t.value)
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("add", "append", "setdefault", "update")
            ):
                out |= _self_attrs(n.func.value)
    return out


def cancelled_attrs(funcs: list[Func]) -> tuple[bool, set[str]]:
    """(whether anything is cancelled or set, the ``self`` attributes the cancelled objects
    come from: ``self._tasks[k].cancel()``, ``t = self._tasks.pop(k); t.cancel()``)."""
    assigned: dict[str, set[str]] = {}
    for f in funcs:
        for n in walk(f):
            if isinstance(n, ast.Assign | ast.NamedExpr):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        assigned.setdefault(t.id, set()).update(_self_attrs(n.value))
    any_cancel, attrs = False, set()
    for call in _calls(funcs):
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("cancel", "set"):
            any_cancel = True
            receiver = call.func.value
            attrs |= _self_attrs(receiver)
            for name in (n.id for n in ast.walk(receiver) if isinstance(n, ast.Name)):
                attrs |= assigned.get(name, set())
    return any_cancel, attrs


class CancelRouteCancelsNothing(SourceCheck):
    """A `<path>/cancel` route that calls no `.cancel()` (nor sets an event), or cancels
    something other than the registry (`self._tasks`) the `<path>` handler stored its task
    in."""

    code = "C002"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            by_path = {norm_path(r.path): r for r in app.routes if r.path is not None}
            for path, route in by_path.items():
                if not path.endswith("/cancel"):
                    continue
                base = by_path.get(path[: -len("/cancel")] or "/")
                any_cancel, attrs = cancelled_attrs(app.scope(route.func))
                stored = registries(app.scope(base.func)) if base else set()
                if not any_cancel:
                    why = "calls no .cancel(): the handler it should stop runs on"
                elif stored and not stored & attrs:
                    why = (
                        f"does not cancel what {base.path if base else path} registered "
                        f"(self.{sorted(stored)[0]})"
                    )
                else:
                    continue
                yield Hit(
                    self.code,
                    route.func,
                    f"cancel route {route.path} {why}",
                    app.name,
                    route.func.name,
                )


def _first_await_after(func: Func, node: ast.stmt) -> ast.Await | None:
    end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
    later = [n for n in walk(func) if isinstance(n, ast.Await) and (n.lineno, n.col_offset) > end]
    return min(later, key=lambda n: (n.lineno, n.col_offset), default=None)


def _refers(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _cleanup_blocks(func: Func, module: Module) -> Iterator[list[ast.stmt]]:
    """``finally`` bodies and ``except`` bodies that run on cancellation."""
    for n in walk(func):
        if isinstance(n, ast.Try | ast.TryStar):
            if n.finalbody:
                yield n.finalbody
            for h in n.handlers:
                types = (
                    []
                    if h.type is None
                    else [
                        last(module.names.qualname(e))
                        for e in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])
                    ]
                )
                if h.type is None or {"CancelledError", "BaseException"} & set(types):
                    yield h.body


def _cancelled_in_cleanup(func: Func, name: str, module: Module) -> bool:
    for body in _cleanup_blocks(func, module):
        block = ast.Module(body=body, type_ignores=[])
        has_cancel = any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "cancel"
            for n in ast.walk(block)
        )
        if has_cancel and _refers(block, name):
            return True
    return False


def _bound_name(call: ast.Call, module: Module) -> tuple[str | None, bool]:
    """(the name the task is kept in, whether it is kept on ``self`` / returned)."""
    for child, parent in module.parents.chain(call):
        if isinstance(parent, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            t = targets[0]
            if isinstance(t, ast.Name):
                return t.id, False
            return None, True  # self.x = ..., d[k] = ...
        if (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Attribute)
            and parent.func.attr in ("append", "add")
            and child in parent.args
        ):
            recv = parent.func.value
            if isinstance(recv, ast.Name):
                return recv.id, False
            return None, True
        if isinstance(parent, ast.Return | ast.Await):
            return None, True
        if isinstance(parent, ast.stmt):
            return None, False
    return None, False


class OrphanedTask(SourceCheck):
    """In a handler, `asyncio.create_task` / `asyncio.ensure_future` whose task is dropped, or
    kept in a name that is neither the first thing the handler awaits next (`await t`,
    `asyncio.gather(..., t)`, `asyncio.wait_for(t, ...)`) nor cancelled in a `finally` /
    `except CancelledError`. `TaskGroup.create_task` is not looked at."""

    code = "C003"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            for func in app.handler_scope():
                for call in (n for n in walk(func) if isinstance(n, ast.Call)):
                    if module.names.qualname(call.func) not in TASK_STARTERS:
                        continue
                    name, kept = _bound_name(call, module)
                    if kept:
                        continue
                    if name is None:
                        why = "is dropped: nothing awaits or cancels it"
                    else:
                        nxt = _first_await_after(func, module.parents.statement(call))
                        awaited = (
                            nxt is not None
                            and _refers(nxt, name)
                            and not any(
                                isinstance(c, ast.Call)
                                and (module.names.qualname(c.func) or "")
                                in ("asyncio.wait", "asyncio.shield")
                                for c in ast.walk(nxt)
                            )
                        )
                        if awaited or _cancelled_in_cleanup(func, name, module):
                            continue
                        why = (
                            f"({name}) is not what the handler awaits next (line {nxt.lineno}) "
                            "and no finally cancels it"
                            if nxt is not None
                            else f"({name}) is never awaited nor cancelled"
                        )
                    yield Hit(
                        self.code,
                        call,
                        f"task started in {func.name} {why}: if the request is cancelled it "
                        "keeps running; await it at once, use asyncio.TaskGroup, or cancel it "
                        "in finally",
                        app.name,
                        func.name,
                    )


RESOURCE_OPENERS = frozenset(
    {
        "open",
        "io.open",
        "aiofiles.open",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "tempfile.SpooledTemporaryFile",
        "tempfile.TemporaryDirectory",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
        "httpx.AsyncClient",
        "httpx.Client",
        "aiohttp.ClientSession",
        "requests.Session",
        "socket.socket",
    }
)
CLIENTS = frozenset(
    {"httpx.AsyncClient", "httpx.Client", "aiohttp.ClientSession", "requests.Session"}
)


def _opener(call: ast.Call, module: Module) -> str | None:
    q = module.names.qualname(call.func) or ""
    if q in RESOURCE_OPENERS:
        return q
    if isinstance(call.func, ast.Attribute):
        if call.func.attr == "acquire":
            return "acquire"
        if call.func.attr == "send" and any(
            k.arg == "stream" and isinstance(k.value, ast.Constant) and k.value.value
            for k in call.keywords
        ):
            return "stream"
    return None


def _in_with(call: ast.Call, module: Module) -> bool:
    for child, parent in module.parents.chain(call):
        if isinstance(parent, ast.withitem) and child is parent.context_expr:
            return True
        if (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Attribute)
            and parent.func.attr in ("enter_context", "enter_async_context")
        ):
            return True
        if isinstance(parent, ast.stmt):
            return False
    return False


def _finally_refers(func: Func, names: set[str], text: str | None = None) -> bool:
    for n in walk(func):
        if isinstance(n, ast.Try | ast.TryStar) and n.finalbody:
            block = ast.Module(body=n.finalbody, type_ignores=[])
            if any(_refers(block, x) for x in names):
                return True
            if text and f"{text}.release" in ast.unparse(block):
                return True
    return False


def _later_with(func: Func, name: str) -> bool:
    return any(
        isinstance(n, ast.With | ast.AsyncWith)
        and any(_refers(i.context_expr, name) for i in n.items)
        for n in walk(func)
    )


class UnreleasedResource(SourceCheck):
    """In an async handler, a file, temp file, HTTP client / session, stream or lock opened
    (`open()`, `tempfile.*`, `httpx.AsyncClient()`, `lock.acquire()`, `send(stream=True)`)
    outside `with` / `async with`, not released in a `finally`, and followed by an `await`
    (where a cancellation can land). A client kept on `self` or returned is not looked at."""

    code = "C006"

    def run(self, module: Module) -> Iterator[Hit]:
        for app in module.apps:
            for func in app.handler_scope():
                if not isinstance(func, ast.AsyncFunctionDef):
                    continue
                for call in (n for n in walk(func) if isinstance(n, ast.Call)):
                    kind = _opener(call, module)
                    if kind is None or _in_with(call, module):
                        continue
                    if _first_await_after(func, module.parents.statement(call)) is None:
                        continue
                    stmt = module.parents.statement(call)
                    names: set[str] = set()
                    if isinstance(stmt, ast.Assign):
                        for t in stmt.targets:
                            if isinstance(t, ast.Attribute | ast.Subscript):
                                names = {"<kept>"}
                            names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                    if "<kept>" in names or isinstance(stmt, ast.Return):
                        continue
                    if kind == "acquire":
                        text = (
                            ast.unparse(call.func.value)
                            if isinstance(call.func, ast.Attribute)
                            else ""
                        )
                        if _finally_refers(func, set(), text):
                            continue
                    elif names:
                        if _finally_refers(func, names) or any(_later_with(func, n) for n in names):
                            continue
                    elif kind not in CLIENTS and kind != "stream":
                        continue  # a file opened and used in one expression
                    yield Hit(
                        self.code,
                        call,
                        f"`{short(call)}` in {func.name} is not in `async with`/`with` and not "
                        "released in finally: a cancellation at the next await leaks it",
                        app.name,
                        func.name,
                    )


CHECKS: list[type[SourceCheck]] = [
    NoCancelRoute,
    CancelRouteCancelsNothing,
    OrphanedTask,
    UnreleasedResource,
]
