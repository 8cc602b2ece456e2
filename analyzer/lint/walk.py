"""One traversal per tree: :class:`Index` lists a module's nodes, their parents and the nodes of
the kinds the checks start from (imports, classes and functions, calls, raises) in a single
breadth-first pass; :func:`walk` returns (and keeps, on the node) the nodes below any node. The
checks walk the same functions many times; walking each once is what keeps 1,000 files under
5 s.

An index may cover only some top-level statements of a module (``roots``): those in which a
check can find something (:func:`analyzer.lint.prefilter.relevant`); the others (ordinary
helper functions, most of an app module's text) are parsed but never walked in Python. A
parent asked for outside them is found by indexing the whole tree then.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

_KEY = "_analyzer_lint_nodes"

KINDS: dict[type[ast.AST], str] = {
    ast.Import: "imports",
    ast.ImportFrom: "imports",
    ast.ClassDef: "defs",
    ast.FunctionDef: "defs",
    ast.AsyncFunctionDef: "defs",
    ast.Call: "calls",
    ast.Raise: "raises",
    ast.Assert: "raises",
}
"""The node kinds :meth:`Index.kind` lists, each in breadth-first order."""


class Index:
    """The nodes of ``tree`` below ``roots`` (its statements; default: all of it)."""

    def __init__(
        self,
        tree: ast.Module,
        roots: Sequence[ast.stmt] | None = None,
        shallow: Sequence[ast.stmt] = (),
    ) -> None:
        """``shallow``: roots indexed themselves but not what they hold."""
        self.tree = tree
        self.complete = roots is None
        self.shallow = list(shallow)
        self.up: dict[int, ast.AST] = {}
        self.kinds: dict[str, list[ast.AST]] = {k: [] for k in set(KINDS.values())}
        self.nodes = _index(
            tree, tree.body if roots is None else roots, self.up, self.kinds, shallow
        )

    def kind(self, name: str) -> list[ast.AST]:
        """The indexed nodes of one of :data:`KINDS`' kinds, breadth first."""
        return self.kinds[name]

    def parent(self, node: ast.AST) -> ast.AST | None:
        got = self.up.get(id(node))
        if got is not None or self.complete or node is self.tree:
            return got
        line = getattr(node, "lineno", None)
        for s in self.shallow:  # a node inside a shallow statement: that statement's parents
            if line is not None and s.lineno <= line <= (s.end_lineno or s.lineno):
                self.shallow.remove(s)
                _expand(s, self.up)
                got = self.up.get(id(node))
                if got is not None:
                    return got
                break
        if got is None:
            self.complete = True  # a node outside the roots: the whole tree's parents
            _index(self.tree, self.tree.body, self.up, {k: [] for k in self.kinds})
            got = self.up.get(id(node))
        return got


def _expand(node: ast.AST, up: dict[int, ast.AST]) -> None:
    """The parents of everything below ``node`` into ``up``."""
    queue = [node]
    add, node_type = queue.append, ast.AST
    for n in queue:
        for name in n._fields:
            value = getattr(n, name, None)
            if isinstance(value, node_type):
                up[id(value)] = n
                add(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        up[id(item)] = n
                        add(item)


def _index(
    tree: ast.Module,
    roots: Sequence[ast.stmt],
    up: dict[int, ast.AST],
    kinds: dict[str, list[ast.AST]],
    shallow: Sequence[ast.stmt] = (),
) -> list[ast.AST]:
    """Breadth first from ``roots`` (not below ``shallow`` ones): fills ``up`` (parent by id)
    and ``kinds``; the nodes."""
    queue: list[ast.AST] = []
    stop = {id(s) for s in shallow}
    add, node_type, kind_of = queue.append, ast.AST, KINDS
    for root in roots:
        up[id(root)] = tree
        add(root)
        if (k := kind_of.get(type(root))) is not None:
            kinds[k].append(root)
    for node in queue:  # the list grows while it is read: breadth first, as ast.walk
        if stop and id(node) in stop:
            continue
        for name in node._fields:  # ast.iter_child_nodes, without its two generators
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                up[id(value)] = node
                add(value)
                if (k := kind_of.get(type(value))) is not None:
                    kinds[k].append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        up[id(item)] = node
                        add(item)
                        if (k := kind_of.get(type(item))) is not None:
                            kinds[k].append(item)
    nodes: list[ast.AST] = [tree, *queue]
    if roots is tree.body:
        setattr(tree, _KEY, nodes)  # walk(tree)
    return nodes


def walk(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))``, computed once per node (and without ast.walk's generators)."""
    cached: list[ast.AST] | None = node.__dict__.get(_KEY)
    if cached is None:
        cached = [node]
        add, node_type = cached.append, ast.AST
        for n in cached:  # breadth first, as ast.walk
            for name in n._fields:
                value = getattr(n, name, None)
                if isinstance(value, node_type):
                    add(value)
                elif isinstance(value, list):
                    for item in value:
                        if isinstance(item, node_type):
                            add(item)
        setattr(node, _KEY, cached)
    return cached
