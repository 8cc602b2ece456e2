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
from collections.abc import Iterator
from dataclasses import replace

from analyzer.simulate.attempt import net, play
from analyzer.simulate.fleet import Fleet
from analyzer.simulate.model import RequestSpec
from analyzer.simulate.policy import FAILURE_RULES, Decision, decide
from analyzer.simulate.state import AppState, Attempt, Request, Runner


class Engine(Fleet):
    """Run the simulation; ``truth`` collects the expected findings as requests arrive."""

    def run(self, arrivals: Iterator[tuple[float, RequestSpec]]) -> None:
        for app in self.apps.values():
            for _ in range(app.cfg.min_runners):
                self.start_runner(app)
        for i, sf in enumerate(self.setup_failures):  # rollouts whose setup() will fail
            self.at(sf.start, self.rollout, self.apps[sf.app], i)
        self._next_arrival(arrivals)
        q, sink = self.q, self.sink
        while q:
            t, _, fn, args = heapq.heappop(q)
            self.now = t
            sink.flush_until(t)
            fn(*args)

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
        conc = app.cfg.concurrency
        while app.queued > 0 and app.free:
            best = next(iter(app.free.values()))
            req = app.queue.popleft()
            if req.completed:
                continue
            app.queued -= 1
            self.dispatch(req, best)
            if len(best.in_flight) >= conc:
                del app.free[best.id]
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
        app.busy += 1
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
        if r.in_flight.pop(att.key, None) is not None:
            app.busy -= 1
        if r.state == "ready" and r.id not in app.free:
            app.free[r.id] = r
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
                t = now + self.rng.uniform(0.01, 0.08)
                logged = not spec.quirks.lose_termination_log
                self.terminate(r, t, dec.termination_reason, req.id, logged)
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
