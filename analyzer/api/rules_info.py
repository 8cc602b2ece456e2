"""Rule names and documentation for display: codes are always shown with their names.

Everything comes from the rules registry (``analyzer.rules.REGISTRY``): the name, the
severity and the explanation and fix shown in the dashboard are the rule's own docstring,
written once. A code the registry does not know (a finding stored by another version) is
shown as an unknown rule rather than raising.

Example:
    >>> rule_label("S001")
    'S001 · status.503-for-ordinary-error'
"""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.rules import REGISTRY, get_rule


@dataclass(frozen=True)
class RuleDoc:
    """What the dashboard shows about a rule."""

    code: str
    name: str
    severity: str
    summary: str
    docs: str

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"


def rule_doc(code: str) -> RuleDoc:
    """The documentation of one rule, from the registry."""
    rule = get_rule(code)
    if rule is None:
        return RuleDoc(code=code, name="unknown rule", severity="info", summary="", docs="")
    return RuleDoc(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        summary=rule.summary(),
        docs=rule.docs(),
    )


def rule_label(code: str, name: str | None = None) -> str:
    """``CODE · name`` (the registry's name when not given)."""
    return f"{code} · {name or rule_doc(code).name}"


def all_rules() -> list[RuleDoc]:
    """Every registered rule, by code."""
    return [rule_doc(code) for code in REGISTRY.codes()]
