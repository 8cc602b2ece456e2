"""A small day whose apps are linked through runners (every runner serves every app, as in
``/work/shared/bench/gen_native.py``), spread over hours so that time slices are possible:
clean requests, 503s that get the runner terminated (logged) and the request retried on another
runner, cancels, 500s; runners started (with a machine type), ready, health-checked every 10
minutes (lines without a request), replaced after a termination, stopped at the end."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

APPS = ("acme/sdxl", "acme/llm-chat", "beta/flux")
T0 = 1_790_000_000.0


def write_linked_day(path: Path, requests: int = 900, span_s: float = 4 * 3600.0) -> int:
    """Write the day to ``path`` (native JSON lines); returns the number of events."""
    rnd = random.Random(13)
    out: list[dict[str, Any]] = []
    runners: list[str] = []
    born: dict[str, float] = {}
    ended: dict[str, float] = {}
    generation = 0
    fails = 0

    def new_runner(t: float) -> str:
        nonlocal generation
        generation += 1
        rid = f"run-{generation:03d}"
        out.append(
            {
                "ts": t,
                "source": "runner",
                "event": "runner.started",
                "runner_id": rid,
                "machine_type": "GPU-A100" if generation % 2 else "GPU-H100",
            }
        )
        out.append({"ts": t + 20.0, "source": "runner", "event": "runner.ready", "runner_id": rid})
        born[rid] = t + 20.0
        return rid

    for _ in range(6):
        runners.append(new_runner(T0 - 60.0))
    step = span_s / requests
    for i in range(requests):
        t = T0 + i * step + rnd.random() * step * 0.5
        app = APPS[i % len(APPS)]
        req = f"req-{i:05d}"
        live = [r for r in runners if born[r] <= t]
        r = rnd.choice(live)
        kind = rnd.random()

        base = {"app": app, "request_id": req}

        def g(dt: float, event: str, _t: float = t, _b: dict[str, Any] = base, **k: Any) -> None:
            out.append({"ts": _t + dt, "source": "gateway", "event": event, **_b, **k})

        def rn(
            dt: float, event: str, runner: str, _t: float = t, _b: dict[str, Any] = base, **k: Any
        ) -> None:
            out.append(
                {"ts": _t + dt, "source": "runner", "event": event, **_b, "runner_id": runner, **k}
            )

        g(0, "request.received", endpoint="/predict", mode="queue")
        g(0.03, "attempt.dispatched", attempt=1, runner_id=r)
        rn(0.04, "handler.started", r)
        if kind < 0.78:
            rn(1.1, "handler.finished", r, status=200)
            g(1.12, "attempt.finished", attempt=1, runner_id=r, status=200)
            g(1.13, "request.completed", status=200)
        elif kind < 0.88:
            rn(0.5, "handler.error", r, exc_type="RuntimeError", message="CUDA error", status=503)
            g(0.52, "attempt.finished", attempt=1, runner_id=r, status=503)
            fails += 1
            if fails % 3:  # else not logged: the replay infers it from the runner's silence
                g(0.53, "runner.terminated", runner_id=r, reason="status_503")
            g(0.54, "request.requeued", attempt=2, reason="server_error")
            runners.remove(r)
            ended[r] = t + 0.53
            runners.append(new_runner(t + 1.0))
            other = rnd.choice([x for x in runners if born[x] <= t])
            g(0.6, "attempt.dispatched", attempt=2, runner_id=other)
            rn(0.62, "handler.started", other)
            rn(1.5, "handler.finished", other, status=200)
            g(1.52, "attempt.finished", attempt=2, runner_id=other, status=200)
            g(1.53, "request.completed", status=200)
        elif kind < 0.95:
            g(0.8, "request.cancel_requested")
            g(0.81, "request.cancel_forwarded", runner_id=r, attempt=1)
            rn(0.82, "cancel.received", r, outcome="cancelled")
            rn(0.86, "handler.cancelled", r)
            g(
                0.87,
                "attempt.finished",
                attempt=1,
                runner_id=r,
                status=499,
                error_type="client_cancelled",
            )
            g(0.88, "request.completed", status=499, error_type="client_cancelled")
        else:
            rn(0.3, "handler.error", r, exc_type="ValueError", message="bad prompt", status=500)
            g(0.32, "attempt.finished", attempt=1, runner_id=r, status=500)
            g(0.33, "request.completed", status=500)
    end = T0 + span_s
    for rid, b in born.items():  # health checks every 10 minutes: runner lines, no request
        k = 1
        while b + 600.0 * k < ended.get(rid, end):
            out.append(
                {
                    "ts": b + 600.0 * k,
                    "source": "gateway",
                    "event": "runner.health_check",
                    "runner_id": rid,
                    "ok": True,
                }
            )
            k += 1
    for rid in runners:
        out.append(
            {
                "ts": end + 30.0,
                "source": "runner",
                "event": "runner.stopped",
                "runner_id": rid,
                "reason": "scaled_down",
            }
        )
    out.sort(key=lambda e: e["ts"])
    path.write_text("".join(json.dumps(e) + "\n" for e in out), encoding="utf-8")
    return len(out)
