"""The simulator's mutable state: runners, requests, attempts and per-app queues."""

from __future__ import annotations

from collections import deque

from analyzer.simulate.attempt import Script
from analyzer.simulate.model import AppConfig, RequestSpec


class Runner:
    __slots__ = ("app", "cut", "id", "idle_since", "in_flight", "skew", "state")

    def __init__(self, rid: str, app: AppState, skew: float) -> None:
        self.id, self.app, self.skew = rid, app, skew
        self.state = "starting"  # starting | ready | dead
        self.in_flight: dict[int, Attempt] = {}
        self.cut: float | None = None
        self.idle_since = 0.0


class Request:
    __slots__ = ("attempts", "cancelled", "completed", "current", "id", "received", "spec", "state")

    def __init__(self, rid: str, spec: RequestSpec, received: float) -> None:
        self.id, self.spec, self.received = rid, spec, received
        self.attempts = 0
        self.state = "queued"  # queued | held | running | done
        self.completed = False
        self.cancelled = False
        self.current: Attempt | None = None


class Attempt:
    __slots__ = ("cut", "done", "fwd_t", "key", "n", "override", "req", "runner", "script")

    def __init__(self, key: int, req: Request, n: int, runner: Runner, script: Script) -> None:
        self.key, self.req, self.n, self.runner, self.script = key, req, n, runner, script
        self.cut: float | None = None
        self.done = False
        self.override: str | None = None  # failure forced by the runner's termination
        self.fwd_t: float | None = None  # when the gateway forwards a cancel


class AppState:
    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self.stem = "runner-" + cfg.name.replace("/", "-")
        self.runners: dict[str, Runner] = {}  # alive (starting or ready)
        self.free: dict[str, Runner] = {}  # ready with a free slot, in the order they freed up
        self.busy = 0  # attempts in flight
        self.queue: deque[Request] = deque()
        self.queued = 0
        self.failures = 0
        self.backoff_until = 0.0
        self.wake_scheduled = False


class Unguarded:
    """A guard that is never cut (lines logged after the runner stopped on purpose)."""

    cut: float | None = None


NO_GUARD = Unguarded()
