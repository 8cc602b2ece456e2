"""`analyzer rules [CODE]`: the rule catalogue, or one rule's documentation."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "rules",
        help="list the rules, or show one rule's documentation",
        description="Without CODE: every rule with its severity and summary. With CODE: the "
        "rule's documentation (why it matters, the anti-pattern, the fix) and its options.",
    )
    p.add_argument("code", nargs="?", metavar="CODE", help="a rule code, e.g. S001")
    p.set_defaults(func=run)


def catalogue() -> str:
    from analyzer.rules import REGISTRY

    lines = [f"{'code':5} {'severity':8} {'name':40} summary"]
    for rule in REGISTRY:
        lines.append(f"{rule.code:5} {rule.severity:8} {rule.name:40} {rule.summary()}")
    lines.append("")
    lines.append("analyzer rules CODE shows a rule's documentation; docs/rules.md has them all.")
    return "\n".join(lines)


def rule_page(code: str) -> str:
    from analyzer.rules import REGISTRY
    from analyzer.rules.registry import UnknownRuleError

    rule = REGISTRY.get(code)
    if rule is None:
        raise UnknownRuleError(f"unknown rule {code!r} (known: {', '.join(REGISTRY.codes())})")
    lines = [f"{rule.code} {rule.name} ({rule.severity})", "", rule.docs(), ""]
    fields = rule.Options.model_fields
    if fields:
        lines.append(f"Options ([tool.analyzer.rules.{rule.code}]):")
        for name, info in fields.items():
            lines.append(f"  {name} = {info.default!r}  {info.description or ''}".rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    print(rule_page(args.code) if args.code else catalogue())
    return 0
