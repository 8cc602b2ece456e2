"""The platform policy as data: contract section 2 (from the seeds) in one versioned object.

Nothing in the replay or the rules branches on a status code by hand: they read this object
(in Python through :func:`expected_runner_impact` / :func:`expected_retry`, in SQL through the
small lookup tables ``analyzer.replay.policy_sql.install_policy_tables`` creates). A user whose platform differs passes a
TOML or JSON file to :func:`load_policy`; it is merged over :func:`default_policy` key by key.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from analyzer.classify import CLASS_ORDER, DEFAULT_PATTERNS, Pattern
from analyzer.errors import AnalyzerError

POLICY_VERSION = "1"

RunnerImpact = Literal["healthy", "health_check", "terminated"]
RetryCondition = Literal["server_error", "timeout", "connection_error"]
Behaviour429 = Literal["auto", "retried", "not_retried"]


class PolicyError(AnalyzerError):
    """A policy file that cannot be read or does not validate."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusRule(_Model):
    """What an HTTP answer in ``[min_status, max_status]`` does. The narrowest range wins."""

    min_status: int = Field(ge=100, le=599)
    max_status: int = Field(ge=100, le=599)
    runner_impact: RunnerImpact
    retry: bool | None = Field(
        description="queue retry; None = ambiguous (429: see Policy.retry_429)"
    )
    condition: RetryCondition | None = Field(
        default=None, description="the skip_retry_conditions value that disables the retry"
    )

    @model_validator(mode="after")
    def _ordered(self) -> StatusRule:
        if self.min_status > self.max_status:
            raise ValueError("min_status > max_status")
        return self


class FailureRule(_Model):
    """What an attempt that ended without an HTTP answer (``attempt.failed``) does."""

    runner_impact: RunnerImpact
    retry: bool
    condition: RetryCondition | None = None
    direct_status: int | None = Field(default=None, description="what a direct call gets")


class HeaderOverrides(_Model):
    """Response and request headers that override the status-code rules."""

    needs_retry_overrides_skip_conditions: bool = True  # X-Fal-Needs-Retry beats skip conditions
    stop_runner_true_impact: RunnerImpact = "terminated"  # x-fal-stop-runner: true
    stop_runner_false_impact: RunnerImpact = "healthy"  # replaces `terminated` when false
    no_retry_header_stops_retry: bool = True  # the caller's x-fal-no-retry


class ErrorClass(_Model):
    """An error category: a regex on the exception type or on the message (case-insensitive)."""

    name: str
    exc_type_patterns: list[str] = []
    message_patterns: list[str] = []


def _default_status_rules() -> list[StatusRule]:
    return [
        StatusRule(min_status=100, max_status=399, runner_impact="healthy", retry=False),
        StatusRule(min_status=400, max_status=499, runner_impact="healthy", retry=False),
        StatusRule(min_status=429, max_status=429, runner_impact="healthy", retry=None),
        StatusRule(min_status=500, max_status=599, runner_impact="health_check", retry=False),
        StatusRule(min_status=500, max_status=500, runner_impact="health_check", retry=False),
        StatusRule(min_status=502, max_status=502, runner_impact="health_check", retry=False),
        StatusRule(
            min_status=503,
            max_status=503,
            runner_impact="terminated",
            retry=True,
            condition="server_error",
        ),
        StatusRule(
            min_status=504,
            max_status=504,
            runner_impact="health_check",
            retry=True,
            condition="server_error",
        ),
    ]


def _default_failures() -> dict[str, FailureRule]:
    def crash(condition: RetryCondition, direct_status: int) -> FailureRule:
        return FailureRule(
            runner_impact="terminated",
            retry=True,
            condition=condition,
            direct_status=direct_status,
        )

    return {
        "request_timeout": crash("timeout", 504),
        "runner_disconnected": crash("server_error", 503),
        "runner_incomplete_response": crash("server_error", 502),
        "runner_connection_error": crash("connection_error", 503),
        "runner_connection_refused": crash("connection_error", 503),
        "runner_connection_timeout": crash("connection_error", 503),
    }


def _default_error_classes() -> list[ErrorClass]:
    """Ordered: the first class that matches wins; no match = ``ordinary``.

    Derived from :data:`analyzer.classify.DEFAULT_PATTERNS`, the one list the rules use too.
    """
    return [
        ErrorClass(
            name=name,
            exc_type_patterns=[
                p.pattern
                for p in DEFAULT_PATTERNS
                if p.error_class == name and p.field == "exc_type"
            ],
            message_patterns=[
                p.pattern
                for p in DEFAULT_PATTERNS
                if p.error_class == name and p.field == "message"
            ],
        )
        for name in CLASS_ORDER
    ]


def _default_error_types() -> dict[str, int]:
    return {
        "request_timeout": 504,
        "startup_timeout": 504,
        "runner_scheduling_failure": 503,
        "runner_connection_timeout": 503,
        "runner_disconnected": 503,
        "runner_connection_refused": 503,
        "runner_connection_error": 503,
        "runner_incomplete_response": 502,
        "runner_server_error": 500,
        "client_disconnected": 499,
        "client_cancelled": 499,
        "bad_request": 400,
        "internal_error": 500,
    }


class Policy(_Model):
    """The platform's documented behaviour. Every field can be overridden by a policy file."""

    version: str = POLICY_VERSION
    status_rules: list[StatusRule] = Field(default_factory=_default_status_rules)
    failures: dict[str, FailureRule] = Field(default_factory=_default_failures)
    headers: HeaderOverrides = HeaderOverrides()
    retry_429: Behaviour429 = Field(
        default="auto",
        description="the seeds disagree: `auto` expects what the logs show (no deviation either "
        "way until they show a majority), `retried` / `not_retried` force one reading",
    )
    max_attempts: int = Field(default=10, ge=1)
    direct_calls_retried: bool = False
    skip_retry_conditions: list[RetryCondition] = []
    app_skip_retry_conditions: dict[str, list[RetryCondition]] = {}
    error_types: dict[str, int] = Field(default_factory=_default_error_types)
    error_classes: list[ErrorClass] = Field(default_factory=_default_error_classes)
    legitimate_503_classes: list[str] = ["gpu_fault"]
    default_gpu_hour_usd: float = Field(default=2.0, ge=0)
    gpu_hour_usd: dict[str, float] = {
        "GPU-H100": 1.89,
        "GPU-A100": 0.99,
        "GPU-A6000": 0.60,
        "GPU-L40S": 0.85,
        "CPU": 0.10,
    }
    child_grace_s: float = Field(default=1.0, ge=0, description="child work after its handler")
    silence_grace_s: float = Field(
        default=1.0,
        ge=0,
        description="a runner with no sign of life this long after an answer "
        "that should kill it is terminated by inference",
    )
    termination_link_s: float = Field(
        default=10.0,
        ge=0,
        description="a runner.terminated without request_id is linked to the "
        "runner's last answer within this many seconds",
    )

    def price_per_gpu_hour(self, machine_type: str | None) -> float:
        if machine_type is None:
            return self.default_gpu_hour_usd
        return self.gpu_hour_usd.get(machine_type, self.default_gpu_hour_usd)

    def status_rule(self, status: int) -> StatusRule | None:
        """The narrowest rule whose range contains ``status``."""
        matches = [r for r in self.status_rules if r.min_status <= status <= r.max_status]
        return min(matches, key=lambda r: r.max_status - r.min_status) if matches else None

    def skip_conditions_for(self, app: str | None) -> list[str]:
        extra = self.app_skip_retry_conditions.get(app or "", [])
        return [*self.skip_retry_conditions, *extra]


def default_policy() -> Policy:
    return Policy()


def with_patterns(policy: Policy, patterns: Iterable[Pattern]) -> Policy:
    """``policy`` with configured classifier patterns tried before its own error classes
    (one class per pattern, in the configured order)."""
    extra = [
        ErrorClass(
            name=p.error_class,
            exc_type_patterns=[p.pattern] if p.field == "exc_type" else [],
            message_patterns=[p.pattern] if p.field == "message" else [],
        )
        for p in patterns
    ]
    if not extra:
        return policy
    return policy.model_copy(update={"error_classes": [*extra, *policy.error_classes]})


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def load_policy(path: str | Path) -> Policy:
    """Read a TOML or JSON policy file and merge it over the defaults (dicts merged key by key,
    lists and scalars replaced)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {p}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"policy file {p} is not valid {p.suffix or 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {p} must hold an object")
    try:
        return Policy.model_validate(_merge(default_policy().model_dump(), data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise PolicyError(f"policy file {p}: {where}: {first['msg']}") from None


# --- the policy in Python, for one attempt ------------------------------------------------


def expected_runner_impact(
    policy: Policy,
    *,
    status: int | None = None,
    failure: str | None = None,
    stop_runner: bool | None = None,
) -> RunnerImpact | None:
    """What the policy says happens to the runner after this answer (None: nothing known)."""
    if status is not None:
        rule = policy.status_rule(status)
        base: RunnerImpact | None = rule.runner_impact if rule else None
    elif failure is not None:
        frule = policy.failures.get(failure)
        base = frule.runner_impact if frule else None
    else:
        return None
    if stop_runner is True:
        return policy.headers.stop_runner_true_impact
    if stop_runner is False and base == "terminated":
        return policy.headers.stop_runner_false_impact
    return base


def expected_retry(
    policy: Policy,
    *,
    status: int | None = None,
    failure: str | None = None,
    needs_retry: bool | None = None,
    mode: str | None = None,
    no_retry: bool | None = None,
    attempt: int = 1,
    app: str | None = None,
    observed_429: str = "unknown",
) -> bool | None:
    """Whether the policy says the gateway retries after this attempt (None: ambiguous)."""
    if status is None and failure is None:
        return None
    if mode == "direct" and not policy.direct_calls_retried:
        return False
    if no_retry and policy.headers.no_retry_header_stops_retry:
        return False
    if attempt >= policy.max_attempts:
        return False
    if needs_retry is not None:
        return needs_retry
    if status is not None:
        rule = policy.status_rule(status)
        retry, condition = (rule.retry, rule.condition) if rule else (None, None)
    else:
        frule = policy.failures.get(failure or "")
        retry, condition = (frule.retry, frule.condition) if frule else (None, None)
    if retry is None:
        retry = resolve_429(policy, observed_429)
    if retry and condition in policy.skip_conditions_for(app):
        return False
    return retry


def resolve_429(policy: Policy, observed: str) -> bool | None:
    """Whether a 429 is retried: the policy's choice, or for ``auto`` what the logs show."""
    choice = policy.retry_429 if policy.retry_429 != "auto" else observed
    return {"retried": True, "not_retried": False}.get(choice)


def classify_error(policy: Policy, exc_type: str | None, message: str | None) -> str | None:
    """The error class in Python (same patterns, same order as the SQL)."""
    if exc_type is None and message is None:
        return None
    for cls in policy.error_classes:
        if exc_type and any(re.search(p, exc_type, re.I) for p in cls.exc_type_patterns):
            return cls.name
        if message and any(re.search(p, message, re.I) for p in cls.message_patterns):
            return cls.name
    return "ordinary"
