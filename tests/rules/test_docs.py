"""docs/rules.md is generated from the registry and must not be stale; every rule is documented."""

from __future__ import annotations

from pathlib import Path

from analyzer.rules import REGISTRY
from analyzer.rules.docs import render

ROOT = Path(__file__).resolve().parents[2]


def test_rules_md_is_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == render(), (
        "docs/rules.md is stale: python -m analyzer.rules.docs > docs/rules.md"
    )


def test_every_rule_documents_why_antipattern_and_fix_with_a_snippet() -> None:
    for rule in REGISTRY:
        docs = rule.docs()
        for section in (
            "**When it fires**",
            "**Why it matters**",
            "**Anti-pattern**",
            "**Best practice**",
        ):
            assert section in docs, (rule.code, section)
        assert "```" in docs.split("**Best practice**")[1], f"{rule.code}: no snippet in the fix"
        assert rule.summary().endswith("."), rule.code
        assert f"## {rule.code} {rule.name}" in render()


def test_every_option_has_a_default_and_a_description() -> None:
    for rule in REGISTRY:
        rule.options()  # defaults validate
        for name, info in rule.Options.model_fields.items():
            assert info.description, (rule.code, name)
