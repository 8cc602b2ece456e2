"""The simulator's vocabulary: apps, attempt plans and scripted requests (plain dataclasses).

A request is *scripted*: its :class:`RequestSpec` says, attempt by attempt, what the app will do
(an :class:`AttemptPlan`), and when the caller cancels or disconnects. The gateway in
:mod:`analyzer.simulate.engine` decides the rest (queueing, dispatch, retries, terminations) by
the policy tables, so what the logs show is the platform's reaction to the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

CancelBehaviour = Literal["honour", "orphan", "leak", "slow", "no_task", "error"]
DisconnectBehaviour = Literal["honour", "ignore"]


@dataclass(frozen=True)
class ChildPlan:
    """Child work started by the handler, offsets in seconds from the handler's start."""

    kind: Literal["task", "upstream", "stream"]
    name: str
    start: float
    duration: float
    deadline_s: float | None = None
    outcome: Literal["ok", "error", "timeout"] = "ok"
    fixed_deadline: bool = False  # keep deadline_s even if it exceeds the caller's budget
    never_ends: bool = False  # logs no end at all (a leaked stream)
    ignores_cancel: bool = False  # keeps running when the handler is cancelled


@dataclass(frozen=True)
class ResourcePlan:
    """A resource the handler holds from ``acquire`` (offset) to its end."""

    kind: str
    name: str
    acquire: float
    leak_on_cancel: bool = False


@dataclass(frozen=True)
class AttemptPlan:
    """What the app does on one attempt.

    ``result``: ``ok`` (handler.finished with ``status``), ``error`` (handler.error mapped to
    ``status``), ``crash`` (the process dies after ``duration``: no answer, connection breaks),
    ``hang`` (never returns; the gateway's request_timeout ends it).
    """

    duration: float
    result: Literal["ok", "error", "crash", "hang"] = "ok"
    status: int = 200
    exc_type: str | None = None
    message: str | None = None
    needs_retry: bool | None = None
    stop_runner: bool | None = None
    children: tuple[ChildPlan, ...] = ()
    resources: tuple[ResourcePlan, ...] = ()
    logs: tuple[tuple[float, str, str], ...] = ()  # (offset, level, message)
    on_cancel: CancelBehaviour = "honour"
    on_disconnect: DisconnectBehaviour = "ignore"
    health_ok: bool = True
    slow_cancel_s: float = 15.0  # for on_cancel="slow": seconds from the cancel to the stop

    def scaled(self, factor: float) -> AttemptPlan:
        """The same plan, every offset and duration multiplied by ``factor``."""
        return replace(
            self,
            duration=self.duration * factor,
            children=tuple(
                replace(c, start=c.start * factor, duration=c.duration * factor)
                for c in self.children
            ),
            resources=tuple(replace(r, acquire=r.acquire * factor) for r in self.resources),
            logs=tuple((o * factor, lv, m) for o, lv, m in self.logs),
        )


@dataclass(frozen=True)
class GatewayQuirks:
    """Platform misbehaviour injected for one request (the ``policy_deviation`` scenarios)."""

    no_cancel_forward: bool = False  # the caller's cancel is never forwarded to the runner
    keep_runner_after_503: bool = False  # a 503 without stop_runner:false does not kill the runner
    retry_500: bool = False  # a 500 is requeued although the policy says no retry
    ignore_deadline: bool = False  # the caller's X-Fal-Request-Timeout is not enforced
    requeue_wait_s: float = 0.0  # the requeued request waits this long before it can dispatch
    lose_termination_log: bool = False  # the runner is killed but the gateway's line is lost


@dataclass
class RequestSpec:
    """One scripted request. ``plans[i]`` is attempt i+1; the last plan repeats."""

    app: str
    endpoint: str
    plans: list[AttemptPlan]
    mode: Literal["queue", "direct"] = "queue"
    deadline_s: float | None = None
    no_retry: bool = False
    cancel_after_start: float | None = None  # caller cancels N s after attempt 1 is dispatched
    disconnect_after_start: float | None = None  # direct caller goes away N s after dispatch
    cancel_after_completion: float | None = None  # a too-late cancel (ALREADY_COMPLETED)
    quirks: GatewayQuirks = field(default_factory=GatewayQuirks)
    truth: tuple[str, ...] = ()  # rule codes this request must produce
    scenario: str = "healthy"
    fit_deadline: bool = True  # shrink work so a healthy request never outlives its deadline

    def plan(self, attempt: int) -> AttemptPlan:
        return self.plans[min(attempt, len(self.plans)) - 1]


@dataclass(frozen=True)
class SetupFailure:
    """From ``start`` to ``end`` (s), every new runner of ``app`` fails setup() or hangs in it."""

    app: str
    start: float
    end: float
    exc_type: str = "ModuleNotFoundError"
    message: str = "No module named 'flash_attn'"
    kind: Literal["setup_failed", "startup_timeout"] = "setup_failed"
    scenario: str = "setup_failure_loop"
    truth: bool = True  # the burst should produce L001 for the app
    max_failures: int | None = None  # stop after this many failed runners
    parallel: int = 1  # runners the rollout starts at once


@dataclass(frozen=True)
class AppConfig:
    """An app (one endpoint) on the platform and how its runners are configured."""

    name: str
    endpoint: str
    machine_type: str
    concurrency: int = 1  # max_multiplexing
    min_runners: int = 1
    max_runners: int = 8
    setup_s: tuple[float, float] = (15.0, 30.0)
    request_timeout: float = 300.0
    startup_timeout: float = 600.0
    keep_alive: float = 300.0
    skip_retry_conditions: tuple[str, ...] = ()
    ts_style: Literal["z", "epoch", "offset"] = "z"
    share: float = 0.2  # share of the healthy traffic
