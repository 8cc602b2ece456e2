"""What every formatter reads: a :class:`CheckReport`, and the formatter registry.

A formatter is a small named class with one method, ``render(report) -> str`` (flake8's
``BaseFormatter``); all of them read the same :class:`~analyzer.rules.Finding` records through
``Finding.to_dict()`` and the same summary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, TextIO

from analyzer.rules import Finding
from analyzer.rules.base import FAIL_ON_RANK
from analyzer.rules.engine import SelectedRule
from analyzer.rules.stored import RuleGroup, StoredFindings, memory_groups
from analyzer.rules.totals import CostTotals, cost_totals, findings_summary


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a check: reported findings (after the baseline), and their context.

    ``findings`` is a tuple, or :class:`~analyzer.rules.stored.StoredFindings` (``analyzer
    check``: the rows of the database, counted and rendered in SQL); the methods below answer
    for both, so a formatter never reads every finding to show a count."""

    findings: Sequence[Finding]
    rules: tuple[SelectedRule, ...]
    summary: dict[str, Any]
    fail_on: str = "error"
    baseline_suppressed: int = 0
    allowed: int = 0
    docs_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "check"
    """``check`` (findings in logs) or ``lint`` (findings in source; ``summary`` then holds
    ``files``, ``apps``, ``suppressed`` and ``unparsable``; ``extra["srcroot"]`` is the folder
    SARIF URIs are relative to)."""

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Findings at or above ``fail_on``."""
        limit = FAIL_ON_RANK[self.fail_on]
        return tuple(f for f in self.findings if f.rank >= limit)

    @property
    def stored(self) -> StoredFindings | None:
        return self.findings if isinstance(self.findings, StoredFindings) else None

    def failing_count(self) -> int:
        """How many findings are at or above ``fail_on``."""
        if self.stored is not None:
            return self.stored.failing(self.fail_on)
        return len(self.failing)

    def findings_summary(self) -> dict[str, Any]:
        """:func:`analyzer.rules.totals.findings_summary` of the reported findings."""
        if self.stored is not None:
            return self.stored.summary()
        return findings_summary(self.findings)

    def by_severity(self) -> dict[str, int]:
        """How many reported findings per severity (error, warning and info at least)."""
        if self.stored is not None:
            return self.stored.by_severity()
        counts = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    def cost(self) -> CostTotals:
        """The reported findings' cost, overlaps once (:mod:`analyzer.rules.totals`)."""
        return self.stored.cost() if self.stored is not None else cost_totals(self.findings)

    def groups(self) -> list[RuleGroup]:
        """Per rule, worst first: counts, plain sums of cost, the first one or two findings."""
        if self.stored is not None:
            return self.stored.groups()
        return memory_groups(self.findings)

    def help_uri(self, rule_anchor: str) -> str:
        return f"{self.docs_url or default_docs_url()}#{rule_anchor}"


def default_docs_url() -> str:
    """docs/rules.md of this installation, as an absolute ``file:`` URI (SARIF wants absolute
    URIs; CI sets ``docs-url`` to the repository's web address instead)."""
    return (Path(__file__).resolve().parents[2] / "docs" / "rules.md").as_uri()


def display_path(file: str | None) -> str | None:
    """A log file path relative to the working directory when it lies below it (CI annotations
    and SARIF results then point into the checkout), else unchanged."""
    if not file:
        return file
    return _display_path(file, os.getcwd())


@lru_cache(maxsize=4096)
def _display_path(file: str, cwd: str) -> str:
    """:func:`display_path` from ``cwd`` (cached: every finding's evidence names the same few
    files, and ``relpath`` was most of a SARIF or JUnit report's time)."""
    try:
        rel = os.path.relpath(file, cwd)
    except ValueError:
        return file
    return file if rel.startswith("..") else Path(rel).as_posix()


class Formatter:
    """Base of the formatters."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def render(self, report: CheckReport) -> str:
        raise NotImplementedError

    def write(self, report: CheckReport, out: TextIO) -> None:
        """The report into ``out`` (a formatter that can stream overrides this)."""
        out.write(self.render(report))
