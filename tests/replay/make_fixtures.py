"""Author the golden replay fixtures: ``python -m tests.replay.make_fixtures``.

Writes ``fixtures/<case>/input.jsonl`` (native log lines) for every case below. The expected
rows (``expected.json``) are written only with ``--bless`` and must be reviewed by hand: they
are the specification the replay is tested against, not a snapshot of whatever it produced.

Times are seconds after 2026-11-20T14:00:00Z on the gateway's clock; a runner's lines are
written on its own clock (``SKEW[runner]`` seconds ahead of the gateway).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "fixtures"
T0 = datetime(2026, 11, 20, 14, 0, 0, tzinfo=UTC)
APP = {"app": "acme/sdxl", "endpoint": "/predict"}

Line = dict[str, Any]


class Log:
    """Collects lines; runner lines are shifted by their runner's skew."""

    def __init__(self, skew: dict[str, float] | None = None) -> None:
        self.lines: list[Line] = []
        self.skew = skew or {}

    def _ts(self, t: float) -> str:
        return (T0 + timedelta(seconds=t)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def g(self, t: float, event: str, **fields: Any) -> None:
        self.lines.append({"ts": self._ts(t), "source": "gateway", "event": event, **APP, **fields})

    def r(self, t: float, runner: str, event: str, **fields: Any) -> None:
        shifted = t + self.skew.get(runner, 0.0)
        self.lines.append(
            {
                "ts": self._ts(shifted),
                "source": "runner",
                "event": event,
                **APP,
                "runner_id": runner,
                **fields,
            }
        )

    def runner(self, t: float, runner: str, setup: float = 20.0) -> None:
        self.r(t, runner, "runner.started", machine_type="GPU-H100")
        self.r(t + setup, runner, "runner.ready")

    def ok_attempt(
        self, t: float, req: str, n: int, runner: str, dur: float = 3.0, status: int = 200
    ) -> float:
        """Dispatch, handler start/finish, answer. Returns the answer time."""
        self.g(t, "attempt.dispatched", request_id=req, attempt=n, runner_id=runner)
        self.r(t + 0.02, runner, "handler.started", request_id=req)
        self.r(t + 0.02 + dur, runner, "handler.finished", request_id=req, status=status)
        self.g(
            t + dur + 0.05,
            "attempt.finished",
            request_id=req,
            attempt=n,
            runner_id=runner,
            status=status,
        )
        return t + dur + 0.05

    def error_attempt(
        self,
        t: float,
        req: str,
        n: int,
        runner: str,
        exc: str,
        msg: str,
        status: int,
        dur: float = 2.0,
        **answer: Any,
    ) -> float:
        self.g(t, "attempt.dispatched", request_id=req, attempt=n, runner_id=runner)
        self.r(t + 0.02, runner, "handler.started", request_id=req)
        self.r(
            t + 0.02 + dur,
            runner,
            "handler.error",
            request_id=req,
            exc_type=exc,
            message=msg,
            status=status,
        )
        self.g(
            t + dur + 0.05,
            "attempt.finished",
            request_id=req,
            attempt=n,
            runner_id=runner,
            status=status,
            **answer,
        )
        return t + dur + 0.05


def clean() -> Log:
    log = Log()
    log.runner(0, "r1")
    log.g(60, "request.received", request_id="q1", mode="queue")
    end = log.ok_attempt(60.1, "q1", 1, "r1")
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    return log


def retry_503_chain() -> Log:
    log = Log()
    for i, rid in enumerate(("r1", "r2", "r3")):
        log.runner(i, rid)
    log.g(60, "request.received", request_id="q1", mode="queue")
    t = 60.1
    for n, rid in ((1, "r1"), (2, "r2")):
        end = log.error_attempt(t, "q1", n, rid, "ValueError", "invalid prompt: empty", 503)
        log.g(end + 0.01, "runner.terminated", runner_id=rid, reason="status_503", request_id="q1")
        log.g(end + 0.02, "request.requeued", request_id="q1", attempt=n + 1, reason="server_error")
        t = end + 0.5
    end = log.ok_attempt(t, "q1", 3, "r3")
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    return log


def oom() -> Log:
    log = Log()
    log.runner(0, "r1")
    log.runner(1, "r2")
    log.g(60, "request.received", request_id="q1", mode="queue")
    end = log.error_attempt(
        60.1,
        "q1",
        1,
        "r1",
        "torch.OutOfMemoryError",
        "CUDA out of memory. Tried to allocate 2.00 GiB",
        503,
    )
    log.g(end + 0.01, "runner.terminated", runner_id="r1", reason="status_503", request_id="q1")
    log.g(end + 0.02, "request.requeued", request_id="q1", attempt=2, reason="server_error")
    end = log.ok_attempt(end + 1, "q1", 2, "r2")
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    return log


def _cancel_base(log: Log, req: str = "q1", runner: str = "r1", t: float = 60.0) -> None:
    log.g(t, "request.received", request_id=req, mode="queue")
    log.g(t + 0.1, "attempt.dispatched", request_id=req, attempt=1, runner_id=runner)
    log.r(t + 0.12, runner, "handler.started", request_id=req)
    log.r(
        t + 0.5,
        runner,
        "child.started",
        request_id=req,
        child_id=f"{req}-c1",
        kind="upstream",
        name="upscaler",
        deadline_s=30,
    )


def cancel_honoured() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.05, "request.cancel_forwarded", request_id="q1", runner_id="r1", attempt=1)
    log.r(62.07, "r1", "cancel.received", request_id="q1", outcome="cancelled")
    log.r(62.10, "r1", "child.cancelled", request_id="q1", child_id="q1-c1")
    log.r(62.20, "r1", "handler.cancelled", request_id="q1")
    log.g(
        62.25,
        "attempt.finished",
        request_id="q1",
        attempt=1,
        runner_id="r1",
        status=499,
        error_type="client_cancelled",
    )
    log.g(62.26, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    return log


def cancel_not_forwarded() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.01, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    log.r(75, "r1", "child.finished", request_id="q1", child_id="q1-c1", outcome="ok")
    log.r(80, "r1", "handler.finished", request_id="q1", status=200)
    log.g(80.05, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=200)
    return log


def cancel_no_task() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.05, "request.cancel_forwarded", request_id="q1", runner_id="r1", attempt=1)
    log.r(62.07, "r1", "cancel.received", request_id="q1", outcome="no_task")
    log.g(62.10, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    log.r(70, "r1", "child.finished", request_id="q1", child_id="q1-c1", outcome="ok")
    log.r(90, "r1", "handler.finished", request_id="q1", status=200)
    log.g(90.05, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=200)
    return log


def cancel_orphaned_child() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.05, "request.cancel_forwarded", request_id="q1", runner_id="r1", attempt=1)
    log.r(62.07, "r1", "cancel.received", request_id="q1", outcome="cancelled")
    log.r(62.20, "r1", "handler.cancelled", request_id="q1")
    log.g(62.25, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=499)
    log.g(62.26, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    log.r(75.20, "r1", "child.finished", request_id="q1", child_id="q1-c1", outcome="ok")
    return log


def cancel_slow() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.05, "request.cancel_forwarded", request_id="q1", runner_id="r1", attempt=1)
    log.r(62.07, "r1", "cancel.received", request_id="q1", outcome="cancelled")
    log.r(76.0, "r1", "child.cancelled", request_id="q1", child_id="q1-c1")
    log.r(76.1, "r1", "handler.cancelled", request_id="q1")
    log.g(76.15, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=499)
    log.g(76.16, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    return log


def cancel_resource_leak() -> Log:
    log = Log()
    log.runner(0, "r1")
    _cancel_base(log)
    log.r(60.6, "r1", "resource.acquired", request_id="q1", resource_id="lock-7", kind="lock")
    log.r(60.7, "r1", "resource.acquired", request_id="q1", resource_id="tmp-1", kind="temp file")
    log.r(61.0, "r1", "resource.released", request_id="q1", resource_id="tmp-1", kind="temp file")
    log.g(62, "request.cancel_requested", request_id="q1")
    log.g(62.05, "request.cancel_forwarded", request_id="q1", runner_id="r1", attempt=1)
    log.r(62.07, "r1", "cancel.received", request_id="q1", outcome="cancelled")
    log.r(62.10, "r1", "child.cancelled", request_id="q1", child_id="q1-c1")
    log.r(62.20, "r1", "handler.cancelled", request_id="q1")
    log.g(62.25, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=499)
    log.g(62.26, "request.completed", request_id="q1", status=499, error_type="client_cancelled")
    log.r(120, "r1", "log", level="info", message="idle")
    return log


def disconnect() -> Log:
    log = Log()
    log.runner(0, "r1")
    log.g(60, "request.received", request_id="d1", mode="direct")
    log.g(60.1, "attempt.dispatched", request_id="d1", attempt=1, runner_id="r1")
    log.r(60.12, "r1", "handler.started", request_id="d1")
    log.g(61, "request.client_disconnected", request_id="d1")
    log.g(61.01, "request.completed", request_id="d1", status=499, error_type="client_disconnected")
    log.r(70.12, "r1", "handler.finished", request_id="d1", status=200)
    log.g(70.15, "attempt.finished", request_id="d1", attempt=1, runner_id="r1", status=200)
    return log


def timeout_loop() -> Log:
    log = Log()
    for i, rid in enumerate(("r1", "r2", "r3")):
        log.runner(i, rid)
    log.g(60, "request.received", request_id="q1", mode="queue")
    t = 60.1
    for n, rid in ((1, "r1"), (2, "r2")):
        log.g(t, "attempt.dispatched", request_id="q1", attempt=n, runner_id=rid)
        log.r(t + 0.02, rid, "handler.started", request_id="q1")
        log.g(
            t + 30,
            "attempt.failed",
            request_id="q1",
            attempt=n,
            runner_id=rid,
            error_type="request_timeout",
        )
        log.g(
            t + 30.01, "runner.terminated", runner_id=rid, reason="request_timeout", request_id="q1"
        )
        log.g(t + 30.02, "request.requeued", request_id="q1", attempt=n + 1, reason="timeout")
        t += 31
    end = log.ok_attempt(t, "q1", 3, "r3", dur=10)
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    return log


def same_runner_twice() -> Log:
    log = Log()
    log.runner(0, "r1")
    log.g(60, "request.received", request_id="q1", mode="queue")
    log.g(60.1, "attempt.dispatched", request_id="q1", attempt=1, runner_id="r1")
    log.r(60.12, "r1", "handler.started", request_id="q1")
    log.r(
        60.2,
        "r1",
        "child.started",
        request_id="q1",
        child_id="up-1",
        kind="upstream",
        name="llm",
        deadline_s=5,
    )
    log.r(65.2, "r1", "child.finished", request_id="q1", child_id="up-1", outcome="timeout")
    log.r(
        65.25,
        "r1",
        "handler.error",
        request_id="q1",
        exc_type="TimeoutError",
        message="upstream timed out",
        status=504,
    )
    log.g(65.3, "attempt.finished", request_id="q1", attempt=1, runner_id="r1", status=504)
    log.g(65.35, "runner.health_check", runner_id="r1", ok=True)
    log.g(65.4, "request.requeued", request_id="q1", attempt=2, reason="server_error")
    log.g(66.0, "attempt.dispatched", request_id="q1", attempt=2, runner_id="r1")
    log.r(66.02, "r1", "handler.started", request_id="q1")
    log.r(
        66.1,
        "r1",
        "child.started",
        request_id="q1",
        child_id="up-2",
        kind="upstream",
        name="llm",
        deadline_s=5,
    )
    log.r(67.1, "r1", "child.finished", request_id="q1", child_id="up-2", outcome="ok")
    log.r(68.02, "r1", "handler.finished", request_id="q1", status=200)
    log.g(68.05, "attempt.finished", request_id="q1", attempt=2, runner_id="r1", status=200)
    log.g(68.06, "request.completed", request_id="q1", status=200)
    return log


def multiplexed() -> Log:
    log = Log()
    log.runner(0, "r1")
    for i, req in enumerate(("m1", "m2", "m3")):
        log.g(60 + i, "request.received", request_id=req, mode="queue")
        log.g(60.1 + i, "attempt.dispatched", request_id=req, attempt=1, runner_id="r1")
        log.r(60.12 + i, "r1", "handler.started", request_id=req)
    log.r(66.0, "r1", "handler.finished", request_id="m2", status=200)
    log.g(66.05, "attempt.finished", request_id="m2", attempt=1, runner_id="r1", status=200)
    log.g(66.06, "request.completed", request_id="m2", status=200)
    log.r(
        67.0,
        "r1",
        "handler.error",
        request_id="m1",
        exc_type="RuntimeError",
        message="decoder failed",
        status=500,
    )
    log.g(67.05, "attempt.finished", request_id="m1", attempt=1, runner_id="r1", status=500)
    log.g(67.06, "request.completed", request_id="m1", status=500, error_type="runner_server_error")
    log.g(67.2, "runner.health_check", runner_id="r1", ok=True)
    log.r(68.0, "r1", "handler.finished", request_id="m3", status=200)
    log.g(68.05, "attempt.finished", request_id="m3", attempt=1, runner_id="r1", status=200)
    log.g(68.06, "request.completed", request_id="m3", status=200)
    return log


def skewed_clocks() -> Log:
    log = Log(skew={"r1": 7.5, "r2": -4.0})
    log.runner(0, "r1")
    log.runner(0, "r2")
    for i, (req, rid) in enumerate((("s1", "r1"), ("s2", "r2"), ("s3", "r1"), ("s4", "r2"))):
        t = 60 + 5 * i
        log.g(t, "request.received", request_id=req, mode="queue")
        end = log.ok_attempt(t + 0.1, req, 1, rid, dur=2)
        log.g(end + 0.01, "request.completed", request_id=req, status=200)
    log.g(90, "request.received", request_id="s5", mode="queue")
    log.g(90.1, "attempt.dispatched", request_id="s5", attempt=1, runner_id="r2")
    log.r(90.12, "r2", "handler.started", request_id="s5")
    log.g(92, "request.cancel_requested", request_id="s5")
    log.g(92.05, "request.cancel_forwarded", request_id="s5", runner_id="r2", attempt=1)
    log.r(92.07, "r2", "cancel.received", request_id="s5", outcome="cancelled")
    log.r(92.3, "r2", "handler.cancelled", request_id="s5")
    log.g(92.35, "attempt.finished", request_id="s5", attempt=1, runner_id="r2", status=499)
    log.g(92.36, "request.completed", request_id="s5", status=499, error_type="client_cancelled")
    return log


def shuffled() -> Log:
    log = retry_503_chain()
    random.Random(7).shuffle(log.lines)
    return log


def missing_termination() -> Log:
    log = Log()
    for i, rid in enumerate(("r1", "r2", "r3")):
        log.runner(i, rid)
    log.g(60, "request.received", request_id="q1", mode="queue")
    end = log.error_attempt(60.1, "q1", 1, "r1", "KeyError", "'prompt'", 503)
    log.g(end + 0.02, "request.requeued", request_id="q1", attempt=2, reason="server_error")
    end = log.ok_attempt(end + 0.5, "q1", 2, "r2")
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    # r3: a 503 with x-fal-stop-runner: false keeps the runner (no inference, no deviation)
    log.g(70, "request.received", request_id="q2", mode="queue")
    end = log.error_attempt(70.1, "q2", 1, "r3", "RuntimeError", "busy", 503, stop_runner=False)
    log.g(end + 0.02, "request.requeued", request_id="q2", attempt=2, reason="server_error")
    end = log.ok_attempt(end + 0.5, "q2", 2, "r3")
    log.g(end + 0.01, "request.completed", request_id="q2", status=200)
    return log


def kept_serving() -> Log:
    """A 503 without stop_runner: false, after which the same runner keeps serving (deviation)."""
    log = Log()
    log.runner(0, "r1")
    log.runner(1, "r2")
    log.g(60, "request.received", request_id="q1", mode="queue")
    end = log.error_attempt(60.1, "q1", 1, "r1", "ValueError", "bad seed", 503)
    log.g(end + 0.02, "request.requeued", request_id="q1", attempt=2, reason="server_error")
    end = log.ok_attempt(end + 0.5, "q1", 2, "r2")
    log.g(end + 0.01, "request.completed", request_id="q1", status=200)
    log.g(80, "request.received", request_id="q2", mode="queue")
    end = log.ok_attempt(80.1, "q2", 1, "r1")
    log.g(end + 0.01, "request.completed", request_id="q2", status=200)
    return log


def partial_window() -> Log:
    """The window starts mid-request: attempt 2's dispatch and the request's start are missing."""
    log = Log()
    log.r(59.0, "r2", "handler.started", request_id="p1")
    log.r(61.0, "r2", "handler.finished", request_id="p1", status=200)
    log.g(61.05, "attempt.finished", request_id="p1", attempt=2, runner_id="r2", status=200)
    log.g(61.06, "request.completed", request_id="p1", status=200)
    return log


CASES: dict[str, Callable[[], Log]] = {
    f.__name__: f
    for f in (
        clean,
        retry_503_chain,
        oom,
        cancel_honoured,
        cancel_not_forwarded,
        cancel_no_task,
        cancel_orphaned_child,
        cancel_slow,
        cancel_resource_leak,
        disconnect,
        timeout_loop,
        same_runner_twice,
        multiplexed,
        skewed_clocks,
        shuffled,
        missing_termination,
        kept_serving,
        partial_window,
    )
}


def main(argv: list[str]) -> int:
    bless = "--bless" in argv
    for name, make in CASES.items():
        folder = HERE / name
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(line) + "\n" for line in make().lines)
        (folder / "input.jsonl").write_text(text)
        if bless:
            from tests.replay.golden import actual_rows, fresh_replay

            con = fresh_replay(folder / "input.jsonl")
            (folder / "expected.json").write_text(json.dumps(actual_rows(con), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
