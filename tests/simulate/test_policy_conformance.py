"""The simulated gateway follows contract section 2: one test per row of its tables.

Each test scripts one request on a one-app platform, runs the engine and reads what the gateway
logged about it (termination, health check, requeue, final answer).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from analyzer.simulate import run_scripted
from analyzer.simulate.model import AppConfig, AttemptPlan, GatewayQuirks, RequestSpec, SetupFailure
from analyzer.simulate.policy import decide

APP = AppConfig(
    "t/app",
    "/run",
    "GPU-H100",
    concurrency=1,
    min_runners=2,
    max_runners=12,
    setup_s=(5.0, 6.0),
    request_timeout=60.0,
    keep_alive=600.0,
)


def run_one(
    tmp: Path,
    *plans: AttemptPlan,
    app: AppConfig = APP,
    sf: list[SetupFailure] | None = None,
    **kw: Any,
) -> dict[str, list[dict[str, Any]]]:
    spec = RequestSpec(app.name, app.endpoint, list(plans), **kw)
    run_scripted(tmp, [(60.0, spec)], apps=[app], setup_failures=sf)
    gw = [json.loads(x) for x in (tmp / "gateway.jsonl").read_text().splitlines()]
    by: dict[str, list[dict[str, Any]]] = {}
    for e in gw:
        by.setdefault(e["event"], []).append(e)
    return by


def ok(d: float = 1.0) -> AttemptPlan:
    return AttemptPlan(d)


def error(status: int, **kw: Any) -> AttemptPlan:
    return AttemptPlan(1.0, "error", status, exc_type="RuntimeError", message="boom", **kw)


def by_request(ev: dict[str, list[dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    return [e for e in ev.get(name, []) if e.get("request_id")]


def completed(ev: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    (c,) = ev["request.completed"]
    return c


def test_2xx_runner_healthy_no_retry(tmp_path: Path) -> None:
    ev = run_one(tmp_path, ok())
    assert completed(ev)["status"] == 200
    assert not by_request(ev, "runner.terminated") and "runner.health_check" not in ev
    assert "request.requeued" not in ev


def test_4xx_runner_healthy_no_retry(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(422))
    assert completed(ev)["status"] == 422
    assert "runner.health_check" not in ev and not by_request(ev, "runner.terminated")
    assert "request.requeued" not in ev


@pytest.mark.parametrize("status", [500, 502])
def test_500_502_health_check_no_retry(tmp_path: Path, status: int) -> None:
    ev = run_one(tmp_path, error(status), ok())
    assert len(ev["runner.health_check"]) == 1 and ev["runner.health_check"][0]["ok"] is True
    assert "request.requeued" not in ev
    assert completed(ev)["status"] == status
    assert not by_request(ev, "runner.terminated")


def test_503_terminates_and_requeues(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503), ok())
    (t,) = by_request(ev, "runner.terminated")
    assert t["reason"] == "status_503"
    assert t["runner_id"] == ev["attempt.dispatched"][0]["runner_id"]
    (rq,) = ev["request.requeued"]
    assert rq["attempt"] == 2 and rq["reason"] == "server_error"
    assert ev["attempt.dispatched"][1]["runner_id"] != t["runner_id"]
    assert completed(ev)["status"] == 200


def test_503_with_stop_runner_false_keeps_runner(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503, stop_runner=False), ok())
    assert not by_request(ev, "runner.terminated")
    assert ev["request.requeued"][0]["reason"] == "server_error"
    assert completed(ev)["status"] == 200


def test_504_health_check_and_requeue(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(504), ok())
    assert len(ev["runner.health_check"]) == 1
    assert not by_request(ev, "runner.terminated")
    assert ev["request.requeued"][0]["reason"] == "server_error"
    assert completed(ev)["status"] == 200


def test_app_crash_terminates_and_requeues(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(1.0, "crash"), ok())
    assert ev["attempt.failed"][0]["error_type"] == "runner_disconnected"
    assert by_request(ev, "runner.terminated")[0]["reason"] == "crash"
    assert ev["request.requeued"][0]["attempt"] == 2
    assert completed(ev)["status"] == 200


def test_app_crash_direct_gets_503(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(1.0, "crash"), ok(), mode="direct")
    assert "request.requeued" not in ev
    assert completed(ev)["status"] == 503
    assert completed(ev)["error_type"] == "runner_disconnected"


def test_request_timeout_terminates_and_retries(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(500.0), ok())
    (f,) = ev["attempt.failed"]
    assert f["error_type"] == "request_timeout"
    assert by_request(ev, "runner.terminated")[0]["reason"] == "request_timeout"
    assert ev["request.requeued"][0]["reason"] == "timeout"
    assert completed(ev)["status"] == 200


def test_request_timeout_direct_gets_504(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(500.0), mode="direct")
    assert "request.requeued" not in ev
    assert completed(ev)["status"] == 504 and completed(ev)["error_type"] == "request_timeout"


def test_skip_retry_conditions_timeout(tmp_path: Path) -> None:
    app = replace(APP, skip_retry_conditions=("timeout",))
    ev = run_one(tmp_path, AttemptPlan(500.0), ok(), app=app)
    assert by_request(ev, "runner.terminated")[0]["reason"] == "request_timeout"
    assert "request.requeued" not in ev
    assert completed(ev)["status"] == 504


def test_needs_retry_0_prevents_retry_of_503(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503, needs_retry=False), ok())
    assert by_request(ev, "runner.terminated")
    assert "request.requeued" not in ev and completed(ev)["status"] == 503


def test_needs_retry_1_forces_retry_of_500(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(500, needs_retry=True), ok())
    assert ev["request.requeued"][0]["reason"] == "forced"
    assert completed(ev)["status"] == 200


def test_needs_retry_1_overrides_skip_conditions(tmp_path: Path) -> None:
    app = replace(APP, skip_retry_conditions=("server_error",))
    ev = run_one(tmp_path, error(503, needs_retry=True), ok(), app=app)
    assert ev["request.requeued"][0]["attempt"] == 2


def test_stop_runner_true_terminates_on_500(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(500, stop_runner=True, needs_retry=True), ok())
    assert by_request(ev, "runner.terminated")[0]["reason"] == "stop_runner_header"
    assert completed(ev)["status"] == 200


def test_direct_call_never_retried(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503), ok(), mode="direct")
    assert by_request(ev, "runner.terminated")
    assert "request.requeued" not in ev and completed(ev)["status"] == 503


def test_caller_no_retry_header(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503), ok(), no_retry=True)
    assert ev["request.received"][0]["no_retry"] is True
    assert "request.requeued" not in ev and completed(ev)["status"] == 503


def test_at_most_10_attempts(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503))
    assert len(ev["attempt.dispatched"]) == 10
    assert len(ev["request.requeued"]) == 9
    assert len(by_request(ev, "runner.terminated")) == 10
    assert completed(ev)["status"] == 503


def test_caller_deadline_504_no_retry_runner_unaffected(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(40.0), ok(), deadline_s=10.0, fit_deadline=False)
    c = completed(ev)
    assert c["status"] == 504
    received = ev["request.received"][0]
    assert received["deadline_s"] == 10.0
    assert "request.requeued" not in ev
    assert not by_request(ev, "runner.terminated")
    assert len(ev["attempt.dispatched"]) == 1
    # the 504 is given at the deadline, before the attempt's own answer
    assert c["ts"] < ev["attempt.finished"][0]["ts"]


def test_caller_deadline_stops_retries(tmp_path: Path) -> None:
    ev = run_one(
        tmp_path,
        AttemptPlan(8.0, "error", 503, exc_type="X", message="y"),
        ok(),
        deadline_s=5.0,
        fit_deadline=False,
    )
    assert completed(ev)["status"] == 504
    assert len(ev["attempt.dispatched"]) == 1


def test_startup_timeout_replaces_runner_request_stays_queued(tmp_path: Path) -> None:
    app = replace(APP, min_runners=0, startup_timeout=30.0)
    sf = [
        SetupFailure(
            app.name, 0.0, 70.0, "", "Downloading weights", kind="startup_timeout", max_failures=1
        )
    ]
    ev = run_one(tmp_path, ok(), app=app, sf=sf)
    (t,) = [e for e in ev["runner.terminated"] if e["reason"] == "startup_timeout"]
    assert "request_id" not in t
    assert "request.requeued" not in ev  # not a retry: the request waited in the queue
    (d,) = ev["attempt.dispatched"]
    assert d["runner_id"] != t["runner_id"] and d["attempt"] == 1
    assert completed(ev)["status"] == 200


def test_setup_failure_terminates_runner(tmp_path: Path) -> None:
    app = replace(APP, min_runners=0)
    sf = [SetupFailure(app.name, 0.0, 70.0, max_failures=1)]
    ev = run_one(tmp_path, ok(), app=app, sf=sf)
    reasons = [e["reason"] for e in ev["runner.terminated"] if e["reason"] != "scaled_down"]
    assert reasons == ["setup_failed"]
    assert completed(ev)["status"] == 200


def test_cancel_forwarded_to_the_running_runner(tmp_path: Path) -> None:
    ev = run_one(tmp_path, AttemptPlan(30.0), cancel_after_start=5.0)
    (f,) = ev["request.cancel_forwarded"]
    assert f["runner_id"] == ev["attempt.dispatched"][0]["runner_id"] and f["attempt"] == 1
    assert completed(ev)["status"] == 499 and completed(ev)["error_type"] == "client_cancelled"


def test_quirk_keep_runner_after_503_is_a_deviation(tmp_path: Path) -> None:
    ev = run_one(tmp_path, error(503), ok(), quirks=GatewayQuirks(keep_runner_after_503=True))
    assert not by_request(ev, "runner.terminated")


@pytest.mark.parametrize(
    ("kw", "impact", "retry", "reason"),
    [
        ({"status": 200}, "healthy", False, None),
        ({"status": 404}, "healthy", False, None),
        ({"status": 429}, "healthy", False, None),
        ({"status": 429, "needs_retry": True}, "healthy", True, "rate_limited"),
        ({"status": 500}, "health_check", False, None),
        ({"status": 502}, "health_check", False, None),
        ({"status": 503}, "terminated", True, "server_error"),
        ({"status": 503, "stop_runner": False}, "healthy", True, "server_error"),
        ({"status": 504}, "health_check", True, "server_error"),
        ({"failure": "request_timeout"}, "terminated", True, "timeout"),
        ({"failure": "runner_disconnected"}, "terminated", True, "server_error"),
        ({"failure": "runner_connection_error"}, "terminated", True, "connection_error"),
        ({"status": 503, "mode": "direct"}, "terminated", False, "server_error"),
        ({"status": 503, "attempt": 10}, "terminated", False, "server_error"),
    ],
)
def test_decide_table(kw: dict[str, Any], impact: str, retry: bool, reason: str | None) -> None:
    d = decide(**kw)
    assert d.impact == impact and d.retry is retry
    if retry:
        assert d.requeue_reason == reason
