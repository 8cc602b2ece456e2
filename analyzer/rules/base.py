"""What every rule shares: severities, the immutable :class:`Finding`, the :class:`Rule` base.

A rule is a small class with a ``code``, a ``name``, a ``severity``, a docstring that becomes
its documentation, an ``Options`` model (pydantic, with defaults) and one method, :meth:`Rule.sql`,
returning ONE set-based query over the replay tables. The query yields *hits* with the columns
of :data:`HIT_COLUMNS`; :mod:`analyzer.rules.engine` turns every rule's hits into findings (one
per subject, evidence joined from ``events``, cost priced) in a few more set-based statements.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning", "info"]

SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "error": 3}
"""Higher is worse; ``--fail-on never`` is rank 4 (nothing reaches it)."""

FAIL_ON_RANK: dict[str, int] = {**SEVERITY_RANK, "never": 4}

CODE_PATTERN = re.compile(r"^[A-Z]\d{3}$")

HIT_COLUMNS: tuple[str, ...] = (
    "subject",  # the grouping key: request_id, or app (+ burst) for app-level rules
    "ord",  # order within the subject (the first hit names the runner, ts and message)
    "app",
    "endpoint",
    "request_id",
    "runner_id",
    "ts",
    "message",
    "evidence_ids",  # BIGINT[]: decisive event first
    "runners_killed",
    "blamed_attempts",  # INTEGER[]: attempts of request_id whose replay waste the hit costs
    "signature",  # the error signature that goes into the fingerprint (no request ids)
)
"""The columns a rule's query must return (in any order; extra columns are ignored)."""


@dataclass(frozen=True)
class Evidence:
    """One decisive event, traceable to its log file and line."""

    event_id: int
    file: str | None
    line: int | None
    event: str | None
    ts: str | None
    column: int | None = None
    """1-based column, for findings in source code (``analyzer lint``); None for log lines."""
    snippet: str | None = None
    """The source line(s) of a finding in source code."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "file": self.file,
            "line": self.line,
            "event": self.event,
            "ts": self.ts,
        }
        if self.column is not None:
            out["column"] = self.column
        if self.snippet is not None:
            out["snippet"] = self.snippet
        return out


@dataclass(frozen=True)
class Waste:
    """One attempt a finding blames, with the replay's waste of it (``attempts.gpu_seconds_wasted``
    and ``attempts.wasted_usd``: selected, never recomputed)."""

    request_id: str
    attempt: int
    gpu_seconds: float
    cost_usd: float


@dataclass(frozen=True)
class Cost:
    """What a finding cost: runners terminated, and the replay's waste of the attempts it
    blames (``blamed``; ``gpu_seconds`` and ``cost_usd`` are their sums)."""

    runners_killed: int = 0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0
    blamed: tuple[Waste, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "runners_killed": self.runners_killed,
            "gpu_seconds": round(self.gpu_seconds, 3),
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True)
class Finding:
    """One finding: immutable; every formatter reads :meth:`to_dict`."""

    code: str
    name: str
    severity: str
    app: str | None
    endpoint: str | None
    request_id: str | None
    runner_id: str | None
    ts: str | None
    message: str
    evidence: tuple[Evidence, ...] = ()
    cost: Cost = field(default_factory=Cost)
    fingerprint: str = ""

    @property
    def location(self) -> Evidence | None:
        """The decisive event (first evidence with a file), where SARIF and GitHub point."""
        return next((e for e in self.evidence if e.file), None)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "app": self.app,
            "endpoint": self.endpoint,
            "request_id": self.request_id,
            "runner_id": self.runner_id,
            "ts": self.ts,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
            "cost": self.cost.to_dict(),
            "fingerprint": self.fingerprint,
        }


class RuleOptions(BaseModel):
    """Options of a rule (thresholds). Subclasses add fields with defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule:
    """Base of every rule. Subclasses set the class attributes and implement :meth:`sql`.

    The class docstring is the rule's documentation (Markdown): its first line is the summary,
    then the sections *When it fires*, *Why it matters*, *Anti-pattern*, *Best practice*.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = "warning"
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    source_only: ClassVar[bool] = False
    """True for a rule only ``analyzer lint`` can find (in the app's source; it has no query)."""

    @classmethod
    def docs(cls) -> str:
        """The documentation (the class docstring, dedented; '' when the class has none)."""
        doc = cls.__dict__.get("__doc__")
        return inspect.cleandoc(doc) if isinstance(doc, str) else ""

    @classmethod
    def summary(cls) -> str:
        text = cls.docs()
        return text.splitlines()[0].strip() if text else ""

    @classmethod
    def anchor(cls) -> str:
        """The Markdown anchor of the rule's section in docs/rules.md (GitHub style)."""
        title = f"{cls.code} {cls.name}".lower()
        return re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-")

    @classmethod
    def options(cls, values: dict[str, Any] | None = None) -> RuleOptions:
        return cls.Options(**(values or {}))

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        """One query over the replay tables returning :data:`HIT_COLUMNS`, and its parameters."""
        raise NotImplementedError
