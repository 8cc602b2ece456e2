"""What a runner does during one attempt: the app-side events of an :class:`AttemptPlan`.

:func:`play` is a pure function of the plan, the attempt's start, the gateway's request_timeout
and the caller's cancel/disconnect times (all known when the attempt is dispatched). It returns
the runner's events (true times) and the answer the gateway will see, and when.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from analyzer.simulate.model import AttemptPlan

INF = float("inf")


@dataclass
class Script:
    """The runner-side events of one attempt and the gateway-visible outcome."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    answer_t: float = 0.0
    status: int | None = None
    failure: str | None = None  # attempt.failed error_type
    exc_type: str | None = None
    message: str | None = None
    needs_retry: bool | None = None
    stop_runner: bool | None = None
    handler_end: float | None = None  # None when the handler never ended (killed)
    crashed: bool = False


def net(rng: random.Random) -> float:
    """One network hop inside the platform (gateway <-> runner)."""
    return rng.uniform(0.003, 0.030)


def play(
    plan: AttemptPlan,
    rng: random.Random,
    *,
    t0: float,
    kill_at: float,
    cancel_at: float | None = None,
    cancel_requested: float | None = None,
    disconnect_at: float | None = None,
    deadline_at: float | None = None,
) -> Script:
    """Script one attempt whose handler starts at ``t0`` (true seconds).

    ``cancel_at``: when the runner's /cancel route is called (None: no cancel reached it).
    ``disconnect_at``: when a direct caller went away. ``kill_at``: the gateway's request_timeout.
    """
    s = Script()
    ev = s.events
    ev.append((t0, {"event": "handler.started"}))
    natural = t0 + plan.duration if plan.result != "hang" else INF
    stop = natural
    kind: str = plan.result
    if cancel_at is not None and cancel_at < natural:
        beh = plan.on_cancel
        outcome = "cancelled" if beh in ("honour", "orphan", "leak", "slow") else beh
        ev.append((cancel_at, {"event": "cancel.received", "outcome": outcome}))
        if beh == "error":
            ev.append(
                (
                    cancel_at + 0.001,
                    {
                        "event": "log",
                        "level": "error",
                        "message": "Traceback (most recent call last): ... ValueError: No task to cancel",
                    },
                )
            )
        if beh in ("honour", "orphan", "leak"):
            stop, kind = cancel_at + rng.uniform(0.05, 0.4), "cancelled"
        elif beh == "slow":
            base = cancel_requested if cancel_requested is not None else cancel_at
            slow_stop = base + plan.slow_cancel_s
            if slow_stop < natural:
                stop, kind = slow_stop, "cancelled"
    elif disconnect_at is not None and disconnect_at < natural and plan.on_disconnect == "honour":
        stop, kind = disconnect_at + rng.uniform(0.1, 0.5), "cancelled"
    end = min(stop, kill_at)
    cancelled = kind == "cancelled"

    for c in plan.children:
        cs = t0 + c.start
        if cs >= end:
            continue
        cid = f"{c.kind}-{rng.getrandbits(32):08x}"
        deadline = c.deadline_s
        duration = c.duration
        if deadline is not None and deadline_at is not None and not c.fixed_deadline:
            deadline = round(max(0.1, min(deadline, 0.5 * (deadline_at - cs))), 1)
            if c.outcome == "timeout":
                duration = deadline
        rec: dict[str, Any] = {"event": "child.started", "child_id": cid, "kind": c.kind}
        rec["name"] = c.name
        if deadline is not None:
            rec["deadline_s"] = deadline
        ev.append((cs, rec))
        if c.never_ends:
            continue
        ce = cs + duration
        if ce >= stop and not c.ignores_cancel:
            if stop < INF:  # stopped with its handler (structured concurrency)
                tc = max(cs + 0.001, stop - rng.uniform(0.005, 0.05))
                ev.append((tc, {"event": "child.cancelled", "child_id": cid}))
            continue
        ev.append((ce, {"event": "child.finished", "child_id": cid, "outcome": c.outcome}))

    for r in plan.resources:
        ta = t0 + r.acquire
        if ta >= end:
            continue
        rid = f"{r.name}-{rng.getrandbits(32):08x}"
        ev.append((ta, {"event": "resource.acquired", "resource_id": rid, "kind": r.kind}))
        if stop < INF and not (cancelled and r.leak_on_cancel):
            ev.append(
                (
                    stop - 0.0005,
                    {"event": "resource.released", "resource_id": rid, "kind": r.kind},
                )
            )

    for off, level, msg in plan.logs:
        if t0 + off < end:
            ev.append((t0 + off, {"event": "log", "level": level, "message": msg}))

    if stop > kill_at:  # the gateway's request_timeout kills the runner mid-handler
        s.failure = "request_timeout"
        s.answer_t = kill_at
        return s
    s.handler_end = stop
    s.answer_t = stop + net(rng)
    if cancelled:
        ev.append((stop, {"event": "handler.cancelled"}))
        s.status = 499
    elif kind == "crash":
        ev.append(
            (
                stop - 0.002,
                {
                    "event": "log",
                    "level": "critical",
                    "message": "Fatal Python error: Segmentation fault",
                },
            )
        )
        s.handler_end = None
        s.failure = "runner_disconnected"
        s.crashed = True
    elif kind == "error":
        msg = plan.message or ""
        ev.append(
            (
                stop - 0.001,
                {
                    "event": "log",
                    "level": "error",
                    "message": f"Traceback (most recent call last):\n  ...\n{plan.exc_type}: {msg}",
                },
            )
        )
        ev.append(
            (
                stop,
                {
                    "event": "handler.error",
                    "exc_type": plan.exc_type,
                    "message": msg,
                    "status": plan.status,
                },
            )
        )
        s.status, s.exc_type, s.message = plan.status, plan.exc_type, msg
        s.needs_retry, s.stop_runner = plan.needs_retry, plan.stop_runner
    else:
        ev.append((stop, {"event": "handler.finished", "status": plan.status}))
        s.status = plan.status
        s.needs_retry, s.stop_runner = plan.needs_retry, plan.stop_runner
    return s
