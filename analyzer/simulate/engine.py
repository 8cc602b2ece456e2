"""The discrete-event model of the gateway and its runners.

One clock (the gateway's, in seconds from the start of the window) drives a heap of events:
arrivals, attempt answers, cancels, deadlines, runner starts and keep-alive checks. The gateway
queues requests per app, dispatches them to ready runners (up to ``concurrency`` each), reacts to
every answer by the policy tables (:mod:`analyzer.simulate.policy`) and scales runners with the
queue. Runners log on their own skewed clocks into their app's file; a killed runner logs nothing
more (its pending lines are cut, see :mod:`analyzer.simulate.output`).
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from analyzer.simulate.attempt import Script, net, play
from analyzer.simulate.model import AppConfig, RequestSpec, SetupFailure
from analyzer.simulate.output import Sink
from analyzer.simulate.policy import FAILURE_RULES, Decision, decide


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
        self.runners: dict[str, Runner] = {}
        self.queue: deque[Request] = deque()
        self.queued = 0
        self.failures = 0
        self.backoff_until = 0.0
        self.wake_scheduled = False


class Engine:
    """Run the simulation; ``truth`` collects the expected findings as requests arrive."""

    def __init__(
        self,
        apps: list[AppConfig],
        sink: Sink,
        rng: random.Random,
        setup_failures: list[SetupFailure] = (),  # type: ignore[assignment]
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

    def run(self, arrivals: Iterator[tuple[float, RequestSpec]]) -> None:
        for app in self.apps.values():
            for _ in range(app.cfg.min_runners):
                self.start_runner(app)
            self.at(self.now, self.setup_failure_wakeups)
        self._next_arrival(arrivals)
        q, sink = self.q, self.sink
        while q:
            t, _, fn, args = heapq.heappop(q)
            self.now = t
            sink.flush_until(t)
            fn(*args)

    def setup_failure_wakeups(self) -> None:
        if getattr(self, "_sf_done", False):
            return
        self._sf_done = True
        for i, sf in enumerate(self.setup_failures):
            self.at(sf.start, self.rollout, self.apps[sf.app], i)

    def _next_arrival(self, arrivals: Iterator[tuple[float, RequestSpec]]) -> None:
        nxt = next(arrivals, None)
        if nxt is not None:
            self.at(nxt[0], self.arrive, nxt[1], arrivals)

    # -- requests ---------------------------------------------------------------------------

    def arrive(self, spec: RequestSpec, arrivals: Iterator[tuple[float, RequestSpec]]) -> None:
        self._next_arrival(arrivals)
        app = self.apps[spec.app]
        req = Request(self.uid(), spec, self.now)
        self.stats["requests"] += 1
        for code in spec.truth:
            self.truth.append(
                {
                    "code": code,
                    "request_id": req.id,
                    "runner_id": None,
                    "app": spec.app,
                    "scenario": spec.scenario,
                }
            )
        self.gw(
            self.now,
            "request.received",
            app,
            request_id=req.id,
            mode=spec.mode,
            deadline_s=spec.deadline_s,
            no_retry=True if spec.no_retry else None,
        )
        if spec.deadline_s is not None and not spec.quirks.ignore_deadline:
            self.at(self.now + spec.deadline_s, self.deadline, req)
        self.enqueue(req)

    def enqueue(self, req: Request) -> None:
        if req.completed:
            return
        app = self.apps[req.spec.app]
        req.state = "queued"
        app.queue.append(req)
        app.queued += 1
        self.dispatch_all(app)

    def dispatch_all(self, app: AppState) -> None:
        while app.queued > 0:
            best: Runner | None = None
            for r in app.runners.values():
                if (
                    r.state == "ready"
                    and len(r.in_flight) < app.cfg.concurrency
                    and (best is None or len(r.in_flight) < len(best.in_flight))
                ):
                    best = r
            if best is None:
                break
            req = app.queue.popleft()
            if req.completed:
                continue
            app.queued -= 1
            self.dispatch(req, best)
        self.autoscale(app)

    def dispatch(self, req: Request, r: Runner) -> None:
        app, spec, rng, now = r.app, req.spec, self.rng, self.now
        req.attempts += 1
        n = req.attempts
        plan = spec.plan(n)
        deadline_at = req.received + spec.deadline_s if spec.deadline_s is not None else None
        if deadline_at is not None and spec.fit_deadline and plan.result in ("ok", "error"):
            target = max(0.05, (deadline_at - now - 1.5) * 0.6)
            if plan.duration > target:
                plan = plan.scaled(target / plan.duration)
        self.gw(now, "attempt.dispatched", app, request_id=req.id, attempt=n, runner_id=r.id)
        t0 = now + net(rng)
        cancel_at = cancel_req = fwd_t = disc = None
        if n == 1 and spec.cancel_after_start is not None:
            cancel_req = now + spec.cancel_after_start
            self.at(cancel_req, self.cancel, req)
            if not spec.quirks.no_cancel_forward:
                fwd_t = cancel_req + rng.uniform(0.005, 0.03)
                cancel_at = fwd_t + net(rng)
        if n == 1 and spec.disconnect_after_start is not None:
            disc = now + spec.disconnect_after_start
            self.at(disc, self.disconnect, req)
            disc += net(rng)
        script = play(
            plan,
            rng,
            t0=t0,
            kill_at=now + app.cfg.request_timeout,
            cancel_at=cancel_at,
            cancel_requested=cancel_req,
            disconnect_at=disc,
            deadline_at=deadline_at,
        )
        self.keys += 1
        att = Attempt(self.keys, req, n, r, script)
        att.fwd_t = fwd_t
        r.in_flight[att.key] = att
        req.current, req.state = att, "running"
        self.stats["attempts"] += 1
        base = {
            "app": app.cfg.name,
            "endpoint": app.cfg.endpoint,
            "request_id": req.id,
            "runner_id": r.id,
        }
        for t, ev in script.events:
            rec = {"source": "runner", "event": ev["event"], **base}
            rec.update((k, v) for k, v in ev.items() if k != "event")
            self.rn(t, r, rec, guard=att)
        self.at(script.answer_t, self.answer, att)

    def answer(self, att: Attempt) -> None:
        if att.done:
            return
        att.done = True
        req, r, s, now = att.req, att.runner, att.script, self.now
        app, spec = r.app, req.spec
        r.in_flight.pop(att.key, None)
        failure = att.override or s.failure
        ids = {"request_id": req.id, "attempt": att.n, "runner_id": r.id}
        if failure is not None:
            att.cut = now if att.cut is None else att.cut
            self.gw(now, "attempt.failed", app, **ids, error_type=failure)
            dec = decide(
                failure=failure,
                mode=spec.mode,
                no_retry=spec.no_retry,
                skip_conditions=app.cfg.skip_retry_conditions,
                attempt=att.n,
            )
        else:
            assert s.status is not None
            self.gw(
                now,
                "attempt.finished",
                app,
                **ids,
                status=s.status,
                needs_retry=s.needs_retry,
                stop_runner=s.stop_runner,
            )
            dec = decide(
                status=s.status,
                needs_retry=s.needs_retry,
                stop_runner=s.stop_runner,
                mode=spec.mode,
                no_retry=spec.no_retry,
                skip_conditions=app.cfg.skip_retry_conditions,
                attempt=att.n,
            )
        dec = self._quirks(dec, spec, s.status)
        if r.state != "dead":
            if dec.impact == "terminated":
                self.terminate(
                    r, now + self.rng.uniform(0.01, 0.08), dec.termination_reason, req.id
                )
            elif dec.impact == "health_check":
                t = now + self.rng.uniform(0.05, 0.3)
                ok = spec.plan(att.n).health_ok
                self.gw(t, "runner.health_check", app, runner_id=r.id, ok=ok)
                if not ok:
                    self.terminate(r, t + 0.01, "health_check_failed", req.id)
        if req.completed:
            pass
        elif req.cancelled:
            self.complete(req, 499, "client_cancelled")
        elif dec.retry:
            req.state = "held"
            self.gw(
                now + 0.001,
                "request.requeued",
                app,
                request_id=req.id,
                attempt=att.n + 1,
                reason=dec.requeue_reason,
            )
            self.at(now + 0.002 + spec.quirks.requeue_wait_s, self.enqueue, req)
        elif failure is not None:
            rule = FAILURE_RULES[failure]
            self.complete(req, rule.direct_status or 503, failure)
        else:
            assert s.status is not None
            self.complete(req, s.status, None)
        if r.state == "ready" and not r.in_flight:
            self.idle(r)
        self.dispatch_all(app)

    @staticmethod
    def _quirks(dec: Decision, spec: RequestSpec, status: int | None) -> Decision:
        q = spec.quirks
        if q.keep_runner_after_503 and status == 503 and dec.impact == "terminated":
            dec = replace(dec, impact="healthy", termination_reason=None)
        if q.retry_500 and status == 500 and not dec.retry:
            dec = replace(dec, retry=True, requeue_reason="server_error")
        return dec

    def complete(self, req: Request, status: int, error_type: str | None) -> None:
        if req.completed:
            return
        app = self.apps[req.spec.app]
        if req.state == "queued":
            app.queued -= 1
        req.completed, req.state = True, "done"
        self.gw(
            self.now + 0.001,
            "request.completed",
            app,
            request_id=req.id,
            status=status,
            error_type=error_type,
        )
        if req.spec.cancel_after_completion is not None:
            self.at(self.now + req.spec.cancel_after_completion, self.late_cancel, req)

    def deadline(self, req: Request) -> None:
        if not req.completed:
            self.complete(req, 504, "request_timeout")

    def cancel(self, req: Request) -> None:
        app = self.apps[req.spec.app]
        self.gw(self.now, "request.cancel_requested", app, request_id=req.id)
        if req.completed:
            return
        req.cancelled = True
        att = req.current
        if req.state == "running" and att is not None and not att.done:
            if att.fwd_t is not None:
                self.gw(
                    att.fwd_t,
                    "request.cancel_forwarded",
                    app,
                    request_id=req.id,
                    runner_id=att.runner.id,
                    attempt=att.n,
                )
        else:
            self.complete(req, 499, "client_cancelled")

    def late_cancel(self, req: Request) -> None:
        self.gw(self.now, "request.cancel_requested", self.apps[req.spec.app], request_id=req.id)

    def disconnect(self, req: Request) -> None:
        app = self.apps[req.spec.app]
        if req.completed:
            return
        self.gw(self.now, "request.client_disconnected", app, request_id=req.id)
        self.complete(req, 499, "client_disconnected")

    # -- runners ----------------------------------------------------------------------------

    def terminate(self, r: Runner, t: float, reason: str | None, request_id: str | None) -> None:
        if r.state == "dead":
            return
        r.state, r.cut = "dead", t
        self.gw(t, "runner.terminated", r.app, runner_id=r.id, reason=reason, request_id=request_id)
        for att in list(r.in_flight.values()):
            att.cut, att.override = t, "runner_disconnected"
            self.at(t + net(self.rng), self.answer, att)
        r.app.runners.pop(r.id, None)
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
                self.at(
                    self.now + cfg.startup_timeout, self.setup_gave_up, r, "startup_timeout", sf_i
                )
            return
        if setup > cfg.startup_timeout:
            self.at(self.now + cfg.startup_timeout, self.setup_gave_up, r, "startup_timeout", None)
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
        if sf.max_failures is not None and self.sf_count.get(sf_i, 0) >= sf.max_failures:
            return
        self.start_runner(app, forced_sf=sf_i)

    def setup_gave_up(self, r: Runner, reason: str, sf_i: int | None) -> None:
        app = r.app
        r.state, r.cut = "dead", self.now
        self.gw(self.now, "runner.terminated", app, runner_id=r.id, reason=reason)
        app.runners.pop(r.id, None)
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
        alive = sum(1 for x in app.runners.values() if x.state != "dead")
        if alive <= app.cfg.min_runners:
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
            guard=_NO_GUARD,
        )

    def autoscale(self, app: AppState) -> None:
        cfg = app.cfg
        alive = 0
        busy = 0
        for r in app.runners.values():
            if r.state != "dead":
                alive += 1
                busy += len(r.in_flight)
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


class _Unguarded:
    cut: float | None = None


_NO_GUARD = _Unguarded()
