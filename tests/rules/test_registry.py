"""The registry refuses mistakes; select/ignore pick the most specific prefix."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer.rules import REGISTRY, Registry, RegistryError, Rule, UnknownRuleError
from analyzer.rules.registry import decide, split_codes

DOC = """Summary line.

**Why it matters**: x. **Anti-pattern**: y. **Best practice**: z.
"""


def _rule(
    code: str, name: str = "status.example", doc: str | None = DOC, severity: str = "error"
) -> type[Rule]:
    attrs: dict[str, Any] = {
        "code": code,
        "name": name,
        "severity": severity,
        "sql": lambda self, o: ("SELECT 1", []),
    }
    if doc is not None:
        attrs["__doc__"] = doc
    return type(f"Rule{code}", (Rule,), attrs)


def test_registers_a_well_formed_rule() -> None:
    reg = Registry()
    reg.register(_rule("X001"))
    assert reg.codes() == ["X001"] and reg.get("x001") is not None


@pytest.mark.parametrize("code", ["S1", "s001", "S0001", "SS01", "", "001S"])
def test_refuses_malformed_codes(code: str) -> None:
    with pytest.raises(RegistryError, match="malformed rule code"):
        Registry().register(_rule(code))


def test_refuses_duplicate_code_and_name() -> None:
    reg = Registry()
    reg.register(_rule("X001"))
    with pytest.raises(RegistryError, match="duplicate rule code"):
        reg.register(_rule("X001", name="status.other"))
    with pytest.raises(RegistryError, match="duplicate rule name"):
        reg.register(_rule("X002"))


def test_refuses_rules_without_docs_or_sections() -> None:
    with pytest.raises(RegistryError, match="docstring"):
        Registry().register(_rule("X001", doc=None))
    with pytest.raises(RegistryError, match="Best practice"):
        Registry().register(
            _rule("X001", doc="Only a summary.\n\n**Why it matters**: **Anti-pattern**")
        )


def test_refuses_bad_severity_and_name() -> None:
    with pytest.raises(RegistryError, match="severity"):
        Registry().register(_rule("X001", severity="fatal"))
    with pytest.raises(RegistryError, match="rule name"):
        Registry().register(_rule("X001", name="No Dots"))


def test_the_catalogue_is_the_contract() -> None:
    expected = {
        "S001": "status.503-for-ordinary-error",
        "S002": "status.server-error-for-bad-input",
        "S003": "status.rate-limit-not-429",
        "S004": "status.client-error-hides-runner-fault",
        "S005": "status.504-without-upstream-timeout",
        "S006": "status.forced-retry-of-client-error",
        "R001": "retry.poison-request",
        "R002": "retry.after-deadline",
        "R003": "retry.timeout-loop",
        "R004": "retry.exhausted",
        "C001": "cancel.not-forwarded",
        "C002": "cancel.not-honoured",
        "C003": "cancel.orphaned-child-work",
        "C004": "cancel.slow-propagation",
        "C005": "cancel.work-after-disconnect",
        "C006": "cancel.resource-not-released",
        "C007": "cancel.child-deadline-exceeds-parent",
        "L001": "lifecycle.setup-failure-loop",
        "L002": "lifecycle.policy-deviation",
        "A001": "status.gpu-word-in-ordinary-error",  # A: found in source only (analyzer lint)
        "A002": "cancel.no-cancel-route",
    }
    assert {r.code: r.name for r in REGISTRY} == expected
    assert [r.code for r in REGISTRY if r.source_only] == ["A001", "A002"]
    severities = {r.code: r.severity for r in REGISTRY}
    assert [c for c, s in severities.items() if s == "info"] == ["R004", "L002"]
    assert {c for c, s in severities.items() if s == "error"} == {
        "S001",
        "S004",
        "R001",
        "C001",
        "C002",
        "C003",
        "L001",
        "A001",
    }


def test_select_and_ignore_most_specific_wins() -> None:
    codes = lambda sel, ign: [r.code for r in REGISTRY.select(sel, ign)]  # noqa: E731
    assert len(codes([], [])) == 19  # analyzer check: source-only rules are never selected
    assert codes(["A"], []) == []
    lint = [r.code for r in REGISTRY.select(["A"], [], with_source_only=True)]
    assert lint == ["A001", "A002"]
    assert codes(["S"], []) == ["S001", "S002", "S003", "S004", "S005", "S006"]
    assert codes(["S"], ["S00"]) == []
    assert codes(["S001"], ["S"]) == ["S001"]
    assert "S005" not in codes([], ["S005"]) and len(codes([], ["S005"])) == 18
    assert codes(["c00"], ["C002", "C003"]) == ["C001", "C004", "C005", "C006", "C007"]
    assert decide("S001", ["S"], ["S"]) is False  # a tie goes to ignore


@pytest.mark.parametrize("bad", ["X", "S9", "S0011", "status"])
def test_unknown_codes_are_user_errors(bad: str) -> None:
    with pytest.raises(UnknownRuleError):
        REGISTRY.select([bad], [])


def test_split_codes() -> None:
    assert split_codes("S001, R") == ["S001", "R"]
    assert split_codes(["S001,S002", "C"]) == ["S001", "S002", "C"]
    assert split_codes(None) == []
