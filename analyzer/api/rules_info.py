"""Rule names and documentation for display: codes are always shown with their names.

Reads the rules registry (``analyzer.rules``) when it offers the rule, so the explanation
and the fix shown in the dashboard are the rule's own docstring; falls back to the
contract's catalogue (code, name, severity, when it fires) otherwise.

Example:
    >>> rule_label("S001")
    'S001 · status.503-for-ordinary-error'
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

# The contract's catalogue (section 3): code -> (name, severity, fires when).
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "S001": ("status.503-for-ordinary-error", "error", "an attempt answered 503 for an ordinary error (not a GPU / runner-state fault), and the runner was (or by policy would be) terminated"),
    "S002": ("status.server-error-for-bad-input", "warning", "500/502/504 answered for bad input or validation failure (should be 422/400)"),
    "S003": ("status.rate-limit-not-429", "warning", "a rate-limit condition answered with 5xx instead of 429"),
    "S004": ("status.client-error-hides-runner-fault", "error", "a 4xx answered for a GPU / runner-state fault: the broken runner stays and the caller is not retried"),
    "S005": ("status.504-without-upstream-timeout", "warning", "the app answered 504 though none of its upstream work timed out: a needless requeue"),
    "S006": ("status.forced-retry-of-client-error", "warning", "X-Fal-Needs-Retry: 1 on a 4xx (other than 408/429): retrying input that will fail again"),
    "R001": ("retry.poison-request", "error", "one request failed the same way on 3 or more runners and each was terminated"),
    "R002": ("retry.after-deadline", "warning", "an attempt was dispatched, or success delivered, after the caller's deadline had passed"),
    "R003": ("retry.timeout-loop", "warning", "2 or more attempts of one request hit request_timeout, each killing a runner (raise the timeout or skip the timeout retry condition)"),
    "R004": ("retry.exhausted", "info", "a request failed after the maximum number of attempts"),
    "C001": ("cancel.not-forwarded", "error", "the caller cancelled while an attempt was running, and no cancel reached that runner while the handler kept working"),
    "C002": ("cancel.not-honoured", "error", "the runner received the cancel but the handler did not stop"),
    "C003": ("cancel.orphaned-child-work", "error", "child work of a request kept running more than a grace period after its handler stopped"),
    "C004": ("cancel.slow-propagation", "warning", "the handler stopped, but more than a threshold (default 5 s) after the cancel was requested"),
    "C005": ("cancel.work-after-disconnect", "warning", "the caller disconnected and the handler kept working to completion"),
    "C006": ("cancel.resource-not-released", "warning", "a resource acquired by a cancelled request was never released"),
    "C007": ("cancel.child-deadline-exceeds-parent", "warning", "child work was started with a deadline longer than the parent's remaining budget"),
    "L001": ("lifecycle.setup-failure-loop", "error", "3 or more runners of one app failed setup() or hit startup_timeout within a window"),
    "L002": ("lifecycle.policy-deviation", "info", "what the platform did disagrees with the policy: the logs are incomplete or the platform changed"),
}  # fmt: skip


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


def _registry_rule(code: str) -> Any | None:
    try:
        import analyzer.rules as rules
    except Exception:  # the registry is optional for display
        return None
    for attr in ("get_rule", "get", "rule"):
        getter = getattr(rules, attr, None)
        if callable(getter):
            try:
                found = getter(code)
            except Exception:
                found = None
            if found is not None:
                return found
    for attr in ("REGISTRY", "registry", "RULES"):
        reg = getattr(rules, attr, None)
        if reg is None:
            continue
        if isinstance(reg, dict) and code in reg:
            return reg[code]
        getter = getattr(reg, "get", None)
        if callable(getter):
            try:
                found = getter(code)
            except Exception:
                found = None
            if found is not None:
                return found
    return None


def rule_doc(code: str) -> RuleDoc:
    """The documentation of one rule (registry first, contract catalogue otherwise)."""
    name, severity, summary = CATALOGUE.get(code, ("unknown rule", "info", ""))
    docs = summary
    rule = _registry_rule(code)
    if rule is not None:
        name = str(getattr(rule, "name", name))
        severity = str(getattr(rule, "severity", severity))
        text = getattr(rule, "docs", None) or inspect.getdoc(rule) or ""
        if callable(text):
            text = text()
        if isinstance(text, str) and text.strip():
            docs = text.strip()
            summary = docs.splitlines()[0]
    return RuleDoc(code=code, name=name, severity=str(severity).lower(), summary=summary, docs=docs)


def rule_label(code: str, name: str | None = None) -> str:
    """``CODE · name`` (the name from the catalogue when not given)."""
    return f"{code} · {name or rule_doc(code).name}"


def all_rules() -> list[RuleDoc]:
    """Every known rule, by code."""
    return [rule_doc(code) for code in sorted(CATALOGUE)]
