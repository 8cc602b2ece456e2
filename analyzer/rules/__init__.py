"""The rule catalogue: one registry of small rule classes, each documented by its docstring.

>>> from analyzer.rules import REGISTRY, get_rule
>>> get_rule("S001").name
'status.503-for-ordinary-error'
>>> [r.code for r in REGISTRY.select(select=["C"], ignore=["C00"])]
[]
"""

from __future__ import annotations

from analyzer.rules import cancel, lifecycle, retry, source, status
from analyzer.rules.base import SEVERITY_RANK, Cost, Evidence, Finding, Rule, RuleOptions
from analyzer.rules.registry import Registry, RegistryError, UnknownRuleError

REGISTRY = Registry()
for _module in (status, retry, cancel, lifecycle, source):
    for _rule in _module.RULES:
        REGISTRY.register(_rule)


def get_rule(code: str) -> type[Rule] | None:
    """The rule class of ``code`` (case-insensitive), or ``None``."""
    return REGISTRY.get(code)


__all__ = [
    "REGISTRY",
    "SEVERITY_RANK",
    "Cost",
    "Evidence",
    "Finding",
    "Registry",
    "RegistryError",
    "Rule",
    "RuleOptions",
    "UnknownRuleError",
    "get_rule",
]
