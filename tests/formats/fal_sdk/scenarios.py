"""What the harness drives: the mapping cases and the test incident, each on real runners.

``cases``: one runner of ``case_app`` takes one call per row of the SDK's exception mapping; one
runner of seed 000's app takes cancels for a known, an unknown and a finished request id; one
runner whose ``setup()`` fails exits by itself.

``incident``: what the acceptance test reads, in export shapes only. ``req-triton`` raises a
ValueError mentioning "triton" on three runners in turn (the SDK answers 503, the platform stops
each runner); ``req-oom`` meets a real CUDA out-of-memory on a broken GPU (503) and succeeds on
the next runner; on seed 000's app ``req-cancel-ok`` is cancelled and stops, while
``req-cancel-late``'s cancel arrives during its slow upload, finds no task, and the request runs
on to 200 (a second cancel after the end finds no task either); ``req-clean`` just works.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness import Recorder, Runner, label_lines

CASE_APP = "case_app:CaseApp"
CANCEL_APP = "seed000_cancellation:MyApp"
CASES = (
    "ok",
    "prints",
    "value_error",
    "triton",
    "key_error_gpu_word",
    "runtime_oom_no_cuda",
    "host_oom",
    "class_oom_no_cuda",
    "cuda_oom",
    "gpu_exception",
    "cuda_oom_exception",
    "app_exception",
    "field_exception",
    "cancelled",
    "stop_runner_false",
    "needs_retry",
)
"""Case names of ``case_app`` in the order they are called (plus ``validation``)."""


def _start(runners: list[Runner]) -> None:
    with ThreadPoolExecutor(len(runners)) as pool:
        list(pool.map(lambda r: r.wait_ready(), runners))


def _cancel_while_running(
    runner: Runner, request_id: str, delay_s: float, slow_body_s: float = 0.0
) -> None:
    """Start ``request_id`` on seed 000's ``/predict``; ``delay_s`` later, cancel it."""
    sent = threading.Event()
    worker = threading.Thread(
        target=runner.call,
        args=("/predict", {"name": request_id}, request_id),
        kwargs={"attempt": 1, "slow_body_s": slow_body_s, "on_sent": sent},
    )
    worker.start()
    sent.wait(10)
    time.sleep(delay_s)
    runner.call("/predict/cancel", {}, request_id)
    worker.join(60)


def cases(rec: Recorder) -> None:
    app = Runner(rec, "run-cases", CASE_APP)
    cancel = Runner(rec, "run-cancel", CANCEL_APP)
    broken = Runner(rec, "run-setup-fails", CASE_APP, {"FAIL_SETUP": "1"})
    try:
        _start([app, cancel])
        broken.wait_exit()
        for case in CASES:
            app.call("/predict", {"case": case, "prompt": "a cat"}, f"case-{case}", attempt=1)
        app.call("/predict", {"case": "ok"}, "case-validation", attempt=1)
        _cancel_while_running(cancel, "cancel-known", 1.0)
        cancel.call("/predict/cancel", {}, "cancel-unknown")
        cancel.call("/predict", {"name": "done"}, "cancel-finished", attempt=1)
        cancel.call("/predict/cancel", {}, "cancel-finished")
    finally:
        for runner in (app, cancel, broken):
            runner.stop()


def incident(rec: Recorder) -> None:
    runners = {
        "run-a1": Runner(rec, "run-a1", CASE_APP),
        "run-a2": Runner(rec, "run-a2", CASE_APP),
        "run-a3": Runner(rec, "run-a3", CASE_APP),
        "run-a4": Runner(rec, "run-a4", CASE_APP, {"BROKEN_GPU": "1"}),
        "run-a5": Runner(rec, "run-a5", CASE_APP),
        "run-c1": Runner(rec, "run-c1", CANCEL_APP),
    }
    try:
        _start(list(runners.values()))
        a1, a2, a3, a4, a5, c1 = runners.values()
        a1.call("/predict", {"case": "ok", "prompt": "a cat"}, "req-clean", attempt=1)
        time.sleep(0.3)
        for attempt, runner in enumerate((a1, a2, a3), start=1):
            runner.call(
                "/predict", {"case": "triton", "prompt": "a dog"}, "req-triton", attempt=attempt
            )
            runner.info["stop_reason"] = "runner returned 503"
            runner.stop()
        time.sleep(0.3)
        a4.call("/predict", {"case": "flaky_oom", "prompt": "a fox"}, "req-oom", attempt=1)
        a4.info["stop_reason"] = "runner returned 503"
        a4.stop()
        a5.call("/predict", {"case": "flaky_oom", "prompt": "a fox"}, "req-oom", attempt=2)
        time.sleep(0.3)
        _cancel_while_running(c1, "req-cancel-ok", 1.0)
        time.sleep(0.3)
        _cancel_while_running(c1, "req-cancel-late", 0.5, slow_body_s=1.5)
        time.sleep(0.3)
        c1.call("/predict/cancel", {}, "req-cancel-late")
        time.sleep(0.3)
    finally:
        for runner in runners.values():
            runner.stop()


SCENARIOS: dict[str, Callable[[Recorder], None]] = {"cases": cases, "incident": incident}


def record(name: str) -> list[dict[str, Any]]:
    """Run scenario ``name`` on live runners; its labelled timeline."""
    rec = Recorder()
    SCENARIOS[name](rec)
    return label_lines(rec.records)
