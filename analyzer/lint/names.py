"""What a name in a module stands for: import aliases, dotted names, constant values.

Only the module's own text is read (never imported): ``import fal as f`` makes ``f.App`` the
qualified name ``fal.App``; ``from fastapi.responses import JSONResponse as J`` makes ``J(...)``
a call of ``fastapi.responses.JSONResponse``. Names not imported stay as written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from analyzer.lint.walk import walk

_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
}


@dataclass
class Names:
    """The aliases and numeric/string constants of one module."""

    aliases: dict[str, str] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.Module, nodes: Iterable[ast.AST] | None = None) -> Names:
        """The names of ``tree``: its imports among ``nodes`` (default: every node; imports
        inside functions count too, fal apps do that) and its module-level constants."""
        names = cls()
        for node in walk(tree) if nodes is None else nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        names.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        names.aliases.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    names.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        for stmt in tree.body:  # module-level constants: TIMEOUT = 10 * 60
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if isinstance(target, ast.Name):
                    value = names.value(stmt.value)
                    if value is not None:
                        names.constants[target.id] = value
        return names

    def qualname(self, node: ast.AST) -> str | None:
        """``f.App`` -> ``fal.App``; a call's callee is resolved by the caller."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def value(self, node: ast.AST | None, local: dict[str, object] | None = None) -> object:
        """The value of a literal or simple constant expression (``10 * 60``, ``[\"timeout\"]``,
        a module constant), else None."""
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if local and node.id in local:
                return local[node.id]
            return self.constants.get(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.value(node.operand, local)
            return -v if isinstance(v, int | float) else None
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = self.value(node.left, local), self.value(node.right, local)
            if isinstance(a, int | float) and isinstance(b, int | float):
                try:
                    return _OPS[type(node.op)](a, b)
                except ZeroDivisionError:
                    return None
            return None
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self.value(e, local) for e in node.elts]
            return None if any(i is None for i in items) else items
        return None

    def number(self, node: ast.AST | None, local: dict[str, object] | None = None) -> float | None:
        v = self.value(node, local)
        if isinstance(v, bool):
            return None
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, list) and v and all(isinstance(x, int | float) for x in v):
            return float(max(v))  # requests' (connect, read) tuple
        return None


def last(qualname: str | None) -> str:
    """The last component of a dotted name (``fastapi.HTTPException`` -> ``HTTPException``)."""
    return (qualname or "").rsplit(".", 1)[-1]


def literal_text(node: ast.AST | None) -> str:
    """The literal parts of a message expression: a string, an f-string's constant parts, the
    format string of ``"..." % x`` / ``"...".format(x)``, concatenations of these."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return literal_text(node.left) + (
            literal_text(node.right) if isinstance(node.op, ast.Add) else ""
        )
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return literal_text(node.func.value)
    return ""


def strings_in(node: ast.AST) -> str:
    """Every string constant and identifier below ``node``, lower-cased and space-joined (to
    look for words such as "out of memory" or "cuda" in a condition)."""
    parts: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            parts.append(n.value)
        elif isinstance(n, ast.Name):
            parts.append(n.id)
        elif isinstance(n, ast.Attribute):
            parts.append(n.attr)
    return " ".join(parts).lower()
