"""The source checks, by the registered rule code each one finds.

>>> sorted(BY_CODE)
['A001', 'A002', 'C002', 'C003', 'C006', 'C007', 'R003', 'S001', 'S002', 'S004', 'S005', 'S006']
"""

from __future__ import annotations

from analyzer.lint.checks import budget, cancel, status
from analyzer.lint.checks.base import Hit, Module, SourceCheck

CHECKS: list[type[SourceCheck]] = [*status.CHECKS, *cancel.CHECKS, *budget.CHECKS]
BY_CODE: dict[str, type[SourceCheck]] = {c.code: c for c in CHECKS}

__all__ = ["BY_CODE", "CHECKS", "Hit", "Module", "SourceCheck"]
