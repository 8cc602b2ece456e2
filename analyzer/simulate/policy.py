"""The platform policy the simulated gateway follows, as data (contract section 2, from the seeds).

The tables below are the single place where the simulator decides what an answer does to a
runner and whether the request is retried; :func:`decide` only reads them. Deviations (a platform
bug the ``policy_deviation`` scenario injects) are applied by the engine on top of a decision,
never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

POLICY_VERSION = "1"
MAX_ATTEMPTS = 10

Impact = Literal["healthy", "health_check", "terminated"]


@dataclass(frozen=True)
class Rule:
    """What one kind of attempt ending does (runner impact, queue retry, retry condition)."""

    impact: Impact
    retry: bool
    condition: str | None = None  # the skip_retry_conditions value that disables the retry
    requeue_reason: str | None = None  # the gateway's request.requeued reason
    termination_reason: str | None = None  # runner.terminated reason when impact is terminated
    direct_status: int | None = None  # what a direct call gets for an attempt.failed


# HTTP answers: exact codes first, then classes ("2xx", "4xx", "5xx").
STATUS_RULES: dict[int | str, Rule] = {
    "2xx": Rule("healthy", False),
    "3xx": Rule("healthy", False),
    "4xx": Rule("healthy", False),
    # 429: the seed pages disagree; the simulated gateway follows the retries reference (no
    # retry) unless the app sends X-Fal-Needs-Retry: 1 (then the requeue reason is rate_limited).
    429: Rule("healthy", False, requeue_reason="rate_limited"),
    500: Rule("health_check", False),
    502: Rule("health_check", False),
    503: Rule("terminated", True, "server_error", "server_error", "status_503"),
    504: Rule("health_check", True, "server_error", "server_error"),
    "5xx": Rule("health_check", False),
}

# Attempts that ended without an HTTP answer (attempt.failed error_type).
FAILURE_RULES: dict[str, Rule] = {
    "request_timeout": Rule("terminated", True, "timeout", "timeout", "request_timeout", 504),
    "runner_disconnected": Rule("terminated", True, "server_error", "server_error", "crash", 503),
    "runner_incomplete_response": Rule(
        "terminated", True, "server_error", "server_error", "crash", 502
    ),
    "runner_connection_error": Rule(
        "terminated", True, "connection_error", "connection_error", "connection_error", 503
    ),
}


@dataclass(frozen=True)
class Decision:
    """The gateway's reaction to one attempt's ending."""

    impact: Impact
    termination_reason: str | None
    retry: bool
    requeue_reason: str | None


def status_rule(status: int) -> Rule:
    """The rule of an HTTP status: its exact entry, else its class."""
    return STATUS_RULES.get(status) or STATUS_RULES.get(f"{status // 100}xx") or STATUS_RULES["5xx"]


def decide(
    *,
    status: int | None = None,
    failure: str | None = None,
    needs_retry: bool | None = None,
    stop_runner: bool | None = None,
    mode: str = "queue",
    no_retry: bool = False,
    skip_conditions: tuple[str, ...] = (),
    attempt: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """Apply the policy: status (or failure) rule, then headers, caller flags, mode and cap."""
    if failure is not None:
        rule = FAILURE_RULES[failure]
    elif status is not None:
        rule = status_rule(status)
    else:
        raise ValueError("decide() needs a status or a failure")
    impact: Impact = rule.impact
    reason = rule.termination_reason
    if failure is None and stop_runner is True:  # x-fal-stop-runner: true
        impact = "terminated"
        reason = reason or "stop_runner_header"
    elif failure is None and stop_runner is False and impact == "terminated":
        impact = "healthy"
        reason = None
    if needs_retry is not None:  # X-Fal-Needs-Retry beats the status rule and skip conditions
        retry = needs_retry
    else:
        retry = rule.retry and rule.condition not in skip_conditions
    requeue_reason = rule.requeue_reason if rule.retry or status == 429 else "forced"
    if mode == "direct" or no_retry or attempt >= max_attempts:
        retry = False
    return Decision(impact, reason if impact == "terminated" else None, retry, requeue_reason)
