"""``analyzer lint``: the misuses the rules find in logs, found in an app's Python source.

>>> from analyzer.lint import lint_sources, selected_rules
>>> from analyzer.config import Config
>>> src = b'''
... import fal
... from fastapi import HTTPException
... class A(fal.App):
...     @fal.endpoint("/")
...     def run(self, x: int) -> int:
...         try:
...             return 1 // x
...         except ZeroDivisionError:
...             raise HTTPException(503, "x must not be 0")
... '''
>>> findings, apps, suppressed, bad = lint_sources([("a.py", src)], selected_rules(Config()))
>>> [(f.code, f.line, f.column) for f in findings], apps
([('S001', 10, 19)], 1)
"""

from __future__ import annotations

from analyzer.lint.finding import SourceFinding
from analyzer.lint.run import LintResult, Unparsable, lint_paths, lint_sources, selected_rules

__all__ = [
    "LintResult",
    "SourceFinding",
    "Unparsable",
    "lint_paths",
    "lint_sources",
    "selected_rules",
]
