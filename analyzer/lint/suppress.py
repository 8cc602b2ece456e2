"""Inline suppression: ``# analyzer: ignore[S001,C003]`` (or a bare ``# analyzer: ignore``) on
any line of the reported statement, as ``# noqa`` does for flake8."""

from __future__ import annotations

import io
import re
import tokenize

_DIRECTIVE = re.compile(r"#\s*analyzer:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?", re.IGNORECASE)
ALL = frozenset({"*"})


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number -> codes suppressed there (``ALL`` for a bare directive). Only real comments
    count: the text is tokenized when a directive appears in it at all."""
    if "analyzer:" not in text:
        return {}
    out: dict[int, frozenset[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        m = _DIRECTIVE.search(tok.string)
        if not m:
            continue
        codes = m.group(1)
        if codes is None:
            out[tok.start[0]] = ALL
        else:
            out[tok.start[0]] = frozenset(c.strip().upper() for c in codes.split(",") if c.strip())
    return out


def is_suppressed(table: dict[int, frozenset[str]], code: str, first: int, last: int) -> bool:
    for line in range(first, last + 1):
        codes = table.get(line)
        if codes and (codes is ALL or code in codes or any(code.startswith(c) for c in codes)):
            return True
    return False
