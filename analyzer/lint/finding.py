"""A finding in source code: a :class:`~analyzer.rules.Finding` located by file, line and
column, so that every formatter of ``analyzer check`` reads it unchanged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from analyzer.rules.base import Evidence, Finding


@dataclass(frozen=True)
class SourceFinding(Finding):
    """``file`` is relative to the current folder (when below it); ``line``/``column`` 1-based
    (columns in Unicode code points); ``snippet`` the reported source line."""

    file: str = ""
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    snippet: str = ""
    function: str | None = None

    @property
    def location(self) -> Evidence:
        return Evidence(
            event_id=0,
            file=self.file,
            line=self.line,
            event=None,
            ts=None,
            column=self.column,
            snippet=self.snippet,
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("request_id", "runner_id", "ts", "cost", "evidence"):
            out.pop(key, None)
        out.update(
            {
                "file": self.file,
                "line": self.line,
                "column": self.column,
                "end_line": self.end_line,
                "end_column": self.end_column,
                "snippet": self.snippet,
                "function": self.function,
            }
        )
        return out


def fingerprint(code: str, file: str, app: str | None, function: str | None, snippet: str) -> str:
    """Stable across line moves: the rule, the file, the app, the function and the reported
    line's text (whitespace-normalised), never the line number."""
    text = "\x1f".join([code, file, app or "", function or "", " ".join(snippet.split())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
