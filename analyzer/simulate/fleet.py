"""Runners of the simulated platform: starts, setup, readiness, termination, scaling.

:class:`Fleet` holds the simulation's plumbing (the event heap, the log sink, the random
source) and the runner lifecycle; :class:`analyzer.simulate.engine.Engine` adds the gateway's
request handling on top of it.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from analyzer.simulate.attempt import net
from analyzer.simulate.model import AppConfig, SetupFailure
from analyzer.simulate.output import Sink
from analyzer.simulate.state import NO_GUARD, AppState, Attempt, Runner


class Fleet:
    """The event loop's plumbing and every runner's life."""

    def __init__(
        self,
        apps: list[AppConfig],
        sink: Sink,
        rng: random.Random,
        setup_failures: Sequence[SetupFailure] = (),
    ) -> None:
        self.sink, self.rng = sink, rng
        self.apps = {a.name: AppState(a) for a in apps}
        self.q: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = 0
        self.now = 0.0
        self.keys = 0
        self.truth: list[dict[str, Any]] = []
        self.stats = {"requests": 0, "attempts": 0, "runners": 0}
        self.setup_failures = list(setup_failures)
        self.sf_count: dict[int, int] = {}

    # -- plumbing ---------------------------------------------------------------------------

    def at(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        self.seq += 1
        heapq.heappush(self.q, (max(t, self.now), self.seq, fn, args))

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def gw(self, t: float, event: str, app: AppState, **fields: Any) -> None:
        rec: dict[str, Any] = {"source": "gateway", "event": event, "app": app.cfg.name}
        if "request_id" in fields:
            rec["endpoint"] = app.cfg.endpoint
        rec.update((k, v) for k, v in fields.items() if v is not None)
        self.sink.emit(max(t, self.now), "gateway", rec)

    def rn(self, t: float, r: Runner, rec: dict[str, Any], guard: Any = None) -> None:
        cfg = r.app.cfg
        self.sink.emit(
            max(t, self.now), r.app.stem, rec, skew=r.skew, style=cfg.ts_style, guard=guard or r
        )

    def dispatch_all(self, app: AppState) -> None:  # pragma: no cover - the engine's
        raise NotImplementedError

    def answer(self, att: Attempt) -> None:  # pragma: no cover - the engine's
        raise NotImplementedError

    def terminate(
        self,
        r: Runner,
        t: float,
        reason: str | None,
        request_id: str | None,
        logged: bool = True,
    ) -> None:
        """Kill a runner at ``t``; ``logged=False`` loses the gateway's line (log loss)."""
        if r.state == "dead":
            return
        r.state, r.cut = "dead", t
        if logged:
            self.gw(
                t, "runner.terminated", r.app, runner_id=r.id, reason=reason, request_id=request_id
            )
        for att in list(r.in_flight.values()):
            att.cut, att.override = t, "runner_disconnected"
            self.at(t + net(self.rng), self.answer, att)
        r.app.runners.pop(r.id, None)
        r.app.free.pop(r.id, None)
        self.at(t, self.autoscale, r.app)

    def skew(self) -> float:
        u = self.rng.random()
        if u < 0.12:  # a few runners with a badly set clock
            return self.rng.choice((-1.0, 1.0)) * self.rng.uniform(1.5, 4.0)
        return max(-0.8, min(0.8, self.rng.gauss(0.0, 0.25)))

    def start_runner(self, app: AppState, forced_sf: int | None = None) -> None:
        rng, cfg = self.rng, app.cfg
        r = Runner(self.uid(), app, round(self.skew(), 3))
        app.runners[r.id] = r
        self.stats["runners"] += 1
        t = self.now + rng.uniform(1.0, 4.0)
        self.rn(
            t,
            r,
            {
                "source": "runner",
                "event": "runner.started",
                "app": cfg.name,
                "runner_id": r.id,
                "machine_type": cfg.machine_type,
            },
        )
        sf_i = forced_sf if forced_sf is not None else self._active_setup_failure(app)
        setup = rng.uniform(*cfg.setup_s)
        if sf_i is not None:
            sf = self.setup_failures[sf_i]
            self.sf_count[sf_i] = self.sf_count.get(sf_i, 0) + 1
            if sf.kind == "setup_failed":
                tf = t + rng.uniform(5.0, 15.0)
                self.rn(
                    tf,
                    r,
                    {
                        "source": "runner",
                        "event": "runner.setup_failed",
                        "app": cfg.name,
                        "runner_id": r.id,
                        "exc_type": sf.exc_type,
                        "message": sf.message,
                    },
                )
                self.at(tf + rng.uniform(0.3, 1.0), self.setup_gave_up, r, "setup_failed", sf_i)
            else:
                self.rn(
                    t + 2.0,
                    r,
                    {
                        "source": "runner",
                        "event": "log",
                        "app": cfg.name,
                        "runner_id": r.id,
                        "level": "info",
                        "message": sf.message,
                    },
                )
                self.at(t + cfg.startup_timeout, self.setup_gave_up, r, "startup_timeout", sf_i)
            return
        if setup > cfg.startup_timeout:
            self.at(t + cfg.startup_timeout, self.setup_gave_up, r, "startup_timeout", None)
            return
        self.rn(
            t + 0.5,
            r,
            {
                "source": "runner",
                "event": "log",
                "app": cfg.name,
                "runner_id": r.id,
                "level": "info",
                "message": "Running setup(): loading model weights",
            },
        )
        self.at(t + setup, self.ready, r)

    def _active_setup_failure(self, app: AppState) -> int | None:
        for i, sf in enumerate(self.setup_failures):
            if (
                sf.app == app.cfg.name
                and sf.start <= self.now <= sf.end
                and (sf.max_failures is None or self.sf_count.get(i, 0) < sf.max_failures)
            ):
                return i
        return None

    def rollout(self, app: AppState, sf_i: int) -> None:
        """A deploy starts a new runner now (and again after each failure, within the window)."""
        sf = self.setup_failures[sf_i]
        for _ in range(sf.parallel):
            if sf.max_failures is not None and self.sf_count.get(sf_i, 0) >= sf.max_failures:
                return
            self.start_runner(app, forced_sf=sf_i)

    def setup_gave_up(self, r: Runner, reason: str, sf_i: int | None) -> None:
        app = r.app
        r.state, r.cut = "dead", self.now
        self.gw(self.now, "runner.terminated", app, runner_id=r.id, reason=reason)
        app.runners.pop(r.id, None)
        app.free.pop(r.id, None)
        app.failures += 1
        app.backoff_until = self.now + min(600.0, 30.0 * app.failures)
        if sf_i is not None and self.now < self.setup_failures[sf_i].end:
            self.at(app.backoff_until, self.rollout, app, sf_i)
        self.at(app.backoff_until, self.autoscale, app)

    def ready(self, r: Runner) -> None:
        if r.state != "starting":
            return
        r.state = "ready"
        app = r.app
        app.failures = 0
        app.free[r.id] = r
        self.rn(
            self.now,
            r,
            {"source": "runner", "event": "runner.ready", "app": app.cfg.name, "runner_id": r.id},
        )
        self.idle(r)
        self.dispatch_all(app)

    def idle(self, r: Runner) -> None:
        r.idle_since = self.now
        self.at(self.now + r.app.cfg.keep_alive, self.keep_alive, r, self.now)

    def keep_alive(self, r: Runner, since: float) -> None:
        app = r.app
        if r.state != "ready" or r.in_flight or r.idle_since != since or app.queued:
            return
        if len(app.runners) <= app.cfg.min_runners:
            return
        self.terminate(r, self.now, "scaled_down", None)
        self.rn(
            self.now + self.rng.uniform(0.05, 0.3),
            r,
            {
                "source": "runner",
                "event": "runner.stopped",
                "app": app.cfg.name,
                "runner_id": r.id,
                "reason": "scaled_down",
            },
            guard=NO_GUARD,
        )

    def autoscale(self, app: AppState) -> None:
        cfg = app.cfg
        alive, busy = len(app.runners), app.busy
        want = max(
            cfg.min_runners, min(cfg.max_runners, math.ceil((app.queued + busy) / cfg.concurrency))
        )
        if want <= alive:
            return
        if self.now < app.backoff_until:
            if not app.wake_scheduled:
                app.wake_scheduled = True
                self.at(app.backoff_until, self._wake, app)
            return
        for _ in range(want - alive):
            self.start_runner(app)

    def _wake(self, app: AppState) -> None:
        app.wake_scheduled = False
        self.autoscale(app)
