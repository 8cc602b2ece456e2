"""What of a file lint must parse: most Python is ordinary code in which no check can fire.

Parsing is most of a source linter's time (``ast.parse`` alone is ~3 s for 1,000 app files of
~170 lines on this project's 2-core machine), so two cheap text tests come first:

- :func:`may_hold_apps`: a file that mentions neither ``fal`` nor ``class`` holds no app and
  no answer a check looks at (a check reads a module only when it imports fal or defines an
  app class): it is not parsed at all;
- :func:`reduce`: a top-level function (``def`` / ``async def`` at column 0, not decorated)
  whose text holds none of :data:`NEEDED` nor a raise / assert naming a GPU word is blanked
  out, line for line (line numbers and columns of the rest are unchanged). Such a function
  holds no app, no import, no HTTP answer and no A001 message; nothing else of a module is
  read outside its apps (an app's handler scope is its own methods).

A top-level function found this way is only a candidate: the cut is at a column-0 line, and a
column-0 ``def`` can sit inside a triple-quoted string; candidates are taken only where the
triple quotes before and inside them pair up, and when the reduced text does not parse, or an
import renames an HTTP answer class to a name a blanked function uses, the whole text is
parsed instead (:func:`needs_full_text`).

The price: a syntax error inside code that is not parsed (a file without ``fal`` or
``class``, a blanked function) is not reported; Python, ruff or mypy report it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analyzer.lint.context import APP_EXCEPTIONS, GPU_MARKERS, HTTP_EXCEPTIONS, RESPONSES
from analyzer.lint.names import last

NEEDED = ("class", "import", "@", "Response", *sorted(HTTP_EXCEPTIONS | APP_EXCEPTIONS))
"""Words that keep a function or class: a nested (app) class, an import (aliases), a decorator
inside it (``@fal.function`` through any alias), an HTTP answer (every response class's name
ends with Response; HTTPException, AppException; renamed by an import: see
:func:`needs_full_text`)."""

ANSWER_NAMES = RESPONSES | HTTP_EXCEPTIONS | APP_EXCEPTIONS

_START = re.compile(r"^[^\s#)\]}]", re.MULTILINE)
"""A column-0 line that may start a statement (not a comment nor a closing bracket)."""
_DEF = re.compile(r"(?:async\s+)?def\s")
_NEWLINE = re.compile(r"\r\n?|\n")


def may_hold_apps(text: str) -> bool:
    return "fal" in text or "class" in text


def _blankable(chunk: str) -> bool:
    if any(w in chunk for w in NEEDED):
        return False
    if "raise" in chunk or "assert" in chunk:
        low = chunk.lower()
        return not any(m in low for m in GPU_MARKERS)
    return True


def reduce(text: str) -> tuple[str, list[str]]:
    """(``text`` with its blankable top-level functions replaced by as many empty lines, the
    functions blanked). Nothing is blanked in a text with a bare ``\\r`` line end."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return text, []
    starts = [m.start() for m in _START.finditer(text)]
    if not starts:
        return text, []
    pieces = [text[: starts[0]]]
    blanked: list[str] = []
    dq = sq = 0  # triple quotes seen before the chunk
    after_decorator = False
    ends = [*starts[1:], len(text)]
    for start, end in zip(starts, ends, strict=True):
        chunk = text[start:end]
        cdq, csq = chunk.count('"""'), chunk.count("'''")
        if (
            not after_decorator
            and dq % 2 == sq % 2 == cdq % 2 == csq % 2 == 0
            and _DEF.match(chunk)
            and _blankable(chunk)
        ):
            pieces.append("\n" * chunk.count("\n"))
            blanked.append(chunk)
        else:
            pieces.append(chunk)
        dq += cdq
        sq += csq
        after_decorator = chunk.startswith("@")
    if not blanked:
        return text, []
    return "".join(pieces), blanked


def needs_full_text(aliases: Mapping[str, str], blanked: Sequence[str]) -> bool:
    """True when an import renames an answer class (``from fastapi import HTTPException as
    E``) to a name that a blanked function uses as a word."""
    renamed = [
        name
        for name, target in aliases.items()
        if last(target) in ANSWER_NAMES and not any(w in name for w in NEEDED)
    ]
    if not renamed:
        return False
    word = re.compile(r"\b(?:" + "|".join(map(re.escape, renamed)) + r")\b")
    return any(word.search(chunk) for chunk in blanked)


@dataclass
class Relevant:
    """Which top-level statements of a module the checks need walked."""

    walked: list[ast.stmt] = field(default_factory=list)
    """Those whose lines (decorators included) hold a word of :data:`NEEDED` or a raise /
    assert with a GPU word."""
    shallow: list[ast.stmt] = field(default_factory=list)
    """Classes whose body holds none: only the class itself counts (its name and bases: it
    may be an app, a base app of another file's app); its body is not walked. And methods
    holding none of a walked class (an app's ``setup``, its helpers): the method is listed
    (an app's methods are its scope), what it holds is walked by the checks that read it."""
    skipped: list[str] = field(default_factory=list)
    """The text of the statements not walked (and of the shallow classes' bodies)."""

    def roots(self, tree: ast.Module) -> list[ast.stmt]:
        """The walked and shallow statements, in the module's order."""
        keep = {id(s) for s in self.walked} | {id(s) for s in self.shallow}
        return [s for s in tree.body if id(s) in keep]


def relevant(tree: ast.Module, text: str) -> Relevant:
    """What of ``tree`` the checks need walked (:class:`Relevant`); the rest is parsed (its
    syntax is checked) but never walked."""
    lines = _NEWLINE.split(text) if "\r" in text else text.split("\n")  # as ast counts lines

    def chunk(first: int, last: int | None) -> str:
        return "\n".join(lines[first - 1 : last or first])

    out = Relevant()
    for stmt in tree.body:
        decorators = getattr(stmt, "decorator_list", None) or ()
        text_of = chunk(min([stmt.lineno, *(d.lineno for d in decorators)]), stmt.end_lineno)
        if _blankable(text_of):
            out.skipped.append(text_of)
        elif isinstance(stmt, ast.ClassDef) and stmt.body:
            body = stmt.body[0]
            start = min([body.lineno, *(d.lineno for d in getattr(body, "decorator_list", ()))])
            body_text = chunk(start, stmt.end_lineno)
            if start > stmt.lineno and _blankable(body_text):
                out.shallow.append(stmt)
                out.skipped.append(body_text)
                continue
            out.walked.append(stmt)
            for method in stmt.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([method.lineno, *(d.lineno for d in method.decorator_list)])
                    method_text = chunk(first, method.end_lineno)
                    if _blankable(method_text):
                        out.shallow.append(method)
                        out.skipped.append(method_text)
        else:
            out.walked.append(stmt)
    return out
