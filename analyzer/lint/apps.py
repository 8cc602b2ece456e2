"""Find the platform's apps in a parsed module: ``fal.App`` classes, their endpoints and
FastAPI routes, ``@fal.function`` functions, and their settings.

An app class derives from ``fal.App`` directly (through any import alias) or from another app
class of the linted files (``known`` names). Its settings are class attributes or class
keywords (``class A(fal.App, request_timeout=60)``), inherited from a known base app.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from analyzer.lint.names import Names, last
from analyzer.lint.walk import walk

Func = ast.FunctionDef | ast.AsyncFunctionDef

APP_BASES = frozenset({"fal.App", "fal.app.App"})
ENDPOINTS = frozenset({"fal.endpoint", "fal.app.endpoint"})
REALTIME = frozenset({"fal.realtime", "fal.app.realtime"})
FUNCTIONS = frozenset({"fal.function", "fal.api.function", "fal.isolated", "fal.api.api.function"})
SETTINGS = ("request_timeout", "startup_timeout", "skip_retry_conditions", "max_multiplexing")
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "api_route", "websocket"})


@dataclass(frozen=True)
class Setting:
    name: str
    value: object
    node: ast.AST
    owner: str
    """The app class (or fal function) whose source sets it: a base app may be another file."""


@dataclass(frozen=True)
class Route:
    """One way into the app: ``kind`` is endpoint, websocket, realtime, fastapi or function."""

    path: str | None
    func: Func
    kind: str

    @property
    def is_async(self) -> bool:
        return isinstance(self.func, ast.AsyncFunctionDef)


@dataclass
class App:
    name: str
    node: ast.ClassDef | Func
    bases: list[str] = field(default_factory=list)
    settings: dict[str, Setting] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    methods: dict[str, Func] = field(default_factory=dict)
    _scopes: dict[int, list[Func]] = field(default_factory=dict, repr=False, compare=False)

    def setting(self, name: str) -> object:
        s = self.settings.get(name)
        return s.value if s else None

    def scope(self, func: Func) -> list[Func]:
        """``func`` and the app's methods it reaches through ``self.name`` (transitively)."""
        cached = self._scopes.get(id(func))
        if cached is None:
            cached = self._scopes[id(func)] = self._reach(func)
        return cached

    def _reach(self, func: Func) -> list[Func]:
        out: list[Func] = []
        todo, seen = [func], set()
        while todo:
            f = todo.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            out.append(f)
            for n in walk(f):
                if (
                    isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name)
                    and n.value.id == "self"
                    and n.attr in self.methods
                ):
                    todo.append(self.methods[n.attr])
        return out

    def handler_scope(self) -> list[Func]:
        """Every function a request can run: the routes and what they reach (not ``setup``)."""
        out: dict[int, Func] = {}
        for r in self.routes:
            for f in self.scope(r.func):
                out.setdefault(id(f), f)
        return list(out.values())

    def route_paths(self) -> set[str]:
        return {norm_path(r.path) for r in self.routes if r.path is not None}


def norm_path(path: str) -> str:
    return "/" + path.strip("/")


def class_bases(
    tree: ast.Module, names: Names, nodes: Iterable[ast.AST] | None = None
) -> dict[str, list[str]]:
    """Class name -> qualified names of its bases, for every class of the module (among
    ``nodes``, default: all)."""
    out: dict[str, list[str]] = {}
    for node in walk(tree) if nodes is None else nodes:
        if isinstance(node, ast.ClassDef):
            out[node.name] = [q for b in node.bases if (q := names.qualname(b))]
    return out


def app_class_names(all_bases: list[dict[str, list[str]]]) -> set[str]:
    """Names of the classes deriving from fal.App, directly or through each other."""
    known: set[str] = set()
    changed = True
    while changed:
        changed = False
        for bases in all_bases:
            for cls, bs in bases.items():
                if cls not in known and any(b in APP_BASES or last(b) in known for b in bs):
                    known.add(cls)
                    changed = True
    return known


def _decorator_call(dec: ast.expr) -> tuple[ast.expr, ast.Call | None]:
    return (dec.func, dec) if isinstance(dec, ast.Call) else (dec, None)


def _first_str(call: ast.Call | None, names: Names) -> str | None:
    if call is None:
        return None
    arg = (
        call.args[0]
        if call.args
        else next((k.value for k in call.keywords if k.arg == "path"), None)
    )
    v = names.value(arg)
    return v if isinstance(v, str) else None


def _keyword_true(call: ast.Call | None, name: str) -> bool:
    return bool(
        call
        and any(
            k.arg == name and isinstance(k.value, ast.Constant) and k.value.value
            for k in call.keywords
        )
    )


def _routes_of(
    cls: ast.ClassDef, names: Names, defs: Sequence[ast.AST] | None = None
) -> Iterator[Route]:
    """The routes among the functions below ``cls`` (``defs``: the module's classes and
    functions, breadth first, when known: those within the class's lines are its own)."""
    end = cls.end_lineno or cls.lineno
    inside = (
        walk(cls)
        if defs is None
        else (d for d in defs if cls.lineno <= getattr(d, "lineno", 0) <= end and d is not cls)
    )
    for node in inside:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for dec in node.decorator_list:
            callee, call = _decorator_call(dec)
            q = names.qualname(callee)
            if q in ENDPOINTS:
                kind = "websocket" if _keyword_true(call, "is_websocket") else "endpoint"
                yield Route(_first_str(call, names), node, kind)
            elif q in REALTIME:
                yield Route(_first_str(call, names), node, "realtime")
            elif (
                isinstance(callee, ast.Attribute)
                and callee.attr in HTTP_VERBS
                and not (isinstance(callee.value, ast.Name) and callee.value.id == "self")
                and (path := _first_str(call, names)) is not None
            ):
                kind = "websocket" if callee.attr == "websocket" else "fastapi"
                yield Route(path, node, kind)


def _class_settings(cls: ast.ClassDef, names: Names) -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for kw in cls.keywords:
        if kw.arg in SETTINGS:
            out[kw.arg] = Setting(kw.arg, names.value(kw.value), kw, cls.name)
    for stmt in cls.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if isinstance(target, ast.Name) and target.id in SETTINGS and value is not None:
            out[target.id] = Setting(target.id, names.value(value), stmt, cls.name)
    return out


def find_apps(
    tree: ast.Module, names: Names, known: set[str], nodes: Iterable[ast.AST] | None = None
) -> list[App]:
    """The apps of one module (``known``: app class names of all linted files) among
    ``nodes`` (default: all of them)."""
    apps: list[App] = []
    defs = None if nodes is None else list(nodes)
    for node in walk(tree) if defs is None else defs:
        if isinstance(node, ast.ClassDef):
            bases = [q for b in node.bases if (q := names.qualname(b))]
            if not any(b in APP_BASES or last(b) in known for b in bases):
                continue
            methods = {
                f.name: f
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            apps.append(
                App(
                    name=node.name,
                    node=node,
                    bases=[last(b) for b in bases],
                    settings=_class_settings(node, names),
                    routes=list(_routes_of(node, names, defs)),
                    methods=methods,
                )
            )
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                callee, call = _decorator_call(dec)
                if names.qualname(callee) in FUNCTIONS:
                    settings = {
                        k.arg: Setting(k.arg, names.value(k.value), k, node.name)
                        for k in (call.keywords if call else [])
                        if k.arg in SETTINGS
                    }
                    apps.append(
                        App(
                            name=node.name,
                            node=node,
                            settings=settings,
                            routes=[Route(None, node, "function")],
                        )
                    )
    return apps


OwnSettings = dict[str, tuple[list[str], dict[str, tuple[object, str]]]]
"""App class -> (its base names, {setting: (value, owner)} as its own source sets them)."""


def own_settings(apps: list[App]) -> OwnSettings:
    return {
        a.name: (list(a.bases), {k: (s.value, s.owner) for k, s in a.settings.items()})
        for a in apps
        if isinstance(a.node, ast.ClassDef)
    }


def resolve_settings(table: OwnSettings) -> dict[str, dict[str, tuple[object, str]]]:
    """Each app class's settings over those of its base apps (all files; the first base wins,
    as in Python's MRO)."""

    def merged(name: str, depth: int = 0) -> dict[str, tuple[object, str]]:
        bases, own = table[name]
        out: dict[str, tuple[object, str]] = {}
        if depth < 20:
            for b in reversed(bases):
                if b in table and b != name:
                    out.update(merged(b, depth + 1))
        out.update(own)
        return out

    return {name: merged(name) for name in table}


def inherit_settings(apps: list[App], resolved: dict[str, dict[str, tuple[object, str]]]) -> None:
    """Fill each app's missing settings from its base apps (``resolved`` by class name); an
    inherited setting points at the app's own class and names the base that set it."""
    for a in apps:
        if not isinstance(a.node, ast.ClassDef):
            continue
        inherited: dict[str, tuple[object, str]] = {}
        for b in reversed(a.bases):  # the first base is applied last: it wins
            if b != a.name:
                inherited.update(resolved.get(b, {}))
        for key, (value, owner) in inherited.items():
            if key not in a.settings:
                a.settings[key] = Setting(key, value, a.node, owner)
