"""What every source check shares: the parsed :class:`Module` it reads and the :class:`Hit` it
yields. A check is a small class naming the registered rule it finds (``code``), with a
docstring saying what in the source makes it fire (docs/rules.md shows it under the rule)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from analyzer.lint.apps import App, Func
from analyzer.lint.context import Answer, Parents, Where, answer_of, enclosing
from analyzer.lint.names import Names


@dataclass
class Module:
    """One parsed source file and what was found in it."""

    path: str
    """As given (relative to the current folder when below it)."""
    tree: ast.Module
    names: Names
    apps: list[App]
    parents: Parents
    uses_fal: bool
    nodes: list[ast.AST] = field(default_factory=list)
    """The nodes of the tree a check can find something in (walked once: ``parents.index``;
    :func:`analyzer.lint.prefilter.relevant`)."""

    @classmethod
    def build(
        cls, path: str, tree: ast.Module, names: Names, apps: list[App], parents: Parents
    ) -> Module:
        uses_fal = any(q == "fal" or q.startswith("fal.") for q in names.aliases.values())
        return cls(path, tree, names, apps, parents, uses_fal, parents.index.nodes)

    def of_kind(self, kind: str) -> list[ast.AST]:
        """The walked nodes of a kind of :data:`analyzer.lint.walk.KINDS` (calls, raises...)."""
        return self.parents.index.kind(kind)

    def function_of(self, node: ast.AST) -> Func | None:
        for _child, parent in self.parents.chain(node):
            if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
                return parent
        return None

    @cached_property
    def answers(self) -> list[tuple[Answer, Where, Func | None]]:
        """Every HTTP answer written in a module that imports fal, with its context."""
        if not self.uses_fal:
            return []
        out = []
        for node in self.of_kind("calls"):
            if isinstance(node, ast.Call):
                answer = answer_of(node, self.names)
                if answer is not None:
                    out.append((answer, enclosing(node, self.parents), self.function_of(node)))
        return out

    def app_of(self, node: ast.AST) -> App | None:
        """The app whose class (or fal function) holds ``node``."""
        for a in self.apps:
            n = a.node
            if n.lineno <= getattr(node, "lineno", -1) <= (n.end_lineno or n.lineno):
                return a
        return None


@dataclass(frozen=True)
class Hit:
    """A check's raw result: the rule, the node to point at, the message."""

    code: str
    node: ast.AST
    message: str
    app: str | None = None
    function: str | None = None


class SourceCheck:
    """Base of the checks: ``code`` is a rule of the registry; :meth:`run` yields hits."""

    code: ClassVar[str] = ""

    def __init__(self, options: Any = None) -> None:
        self.options = options
        """The rule's options (``[tool.analyzer.rules.CODE]``), as ``analyzer check`` reads them."""

    @classmethod
    def docs(cls) -> str:
        doc = cls.__dict__.get("__doc__")
        return inspect.cleandoc(doc) if isinstance(doc, str) else ""

    def run(self, module: Module) -> Iterator[Hit]:
        raise NotImplementedError
