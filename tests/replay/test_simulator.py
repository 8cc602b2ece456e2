"""The replay on the simulator's sample incident agrees with what the simulator wrote.

The sample logs (``sample_logs/native``, written by ``analyzer simulate``) skew runner clocks by
up to several seconds, interleave files and omit the killed runners' own deaths. The rebuilt
attempts and terminations must agree with the gateway's lines and the ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analyzer.replay import build
from tests.replay.helpers import fresh_db

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs" / "native"


@pytest.fixture(scope="module")
def sample() -> tuple[duckdb.DuckDBPyConnection, list[dict[str, Any]]]:
    files = sorted(p for p in SAMPLE.glob("*.jsonl") if not p.name.startswith("_"))
    assert files, "sample_logs/native is missing (analyzer simulate --out sample_logs/native)"
    con = fresh_db(*files)
    build(con)
    truth = [json.loads(line) for line in (SAMPLE / "_ground_truth.jsonl").read_text().splitlines()]
    return con, truth


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def test_one_attempt_per_dispatch(sample: Any) -> None:
    con, _ = sample
    dispatched = _one(con, "SELECT count(*) FROM events WHERE event = 'attempt.dispatched'")
    assert dispatched > 1000
    assert _one(con, "SELECT count(*) FROM attempts") == dispatched


def test_every_logged_termination_is_linked_to_its_attempt(sample: Any) -> None:
    con, _ = sample
    unlinked = _one(
        con,
        "SELECT count(*) FROM events e WHERE e.event = 'runner.terminated' "
        "AND e.request_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM attempts a "
        "WHERE a.terminated_event_id = e.event_id AND a.request_id = e.request_id "
        "AND a.runner_id = e.runner_id)",
    )
    assert unlinked == 0
    killed = _one(con, "SELECT count(*) FROM runners WHERE killed_by_request_id IS NOT NULL")
    logged = _one(
        con,
        "SELECT count(DISTINCT runner_id) FROM events "
        "WHERE event = 'runner.terminated' AND request_id IS NOT NULL",
    )
    inferred = _one(con, "SELECT count(*) FROM runners WHERE end_inferred")
    assert killed == logged + inferred


def test_a_lost_termination_line_is_inferred(sample: Any) -> None:
    """The sample drops one runner's termination line after a 503 (S001 without L002)."""
    con, truth = sample
    rows = con.execute(
        "SELECT request_id, status, termination_inferred, deviation FROM attempts "
        "WHERE termination_inferred"
    ).fetchall()
    assert rows, "no inferred termination"
    s001 = {t["request_id"] for t in truth if t["code"] == "S001"}
    assert all(r[1] == 503 and r[2] and not r[3] for r in rows)
    assert {r[0] for r in rows} <= s001


def test_skewed_clocks_are_aligned(sample: Any) -> None:
    con, _ = sample
    assert _one(con, "SELECT max(abs(offset_s)) FROM clock_offsets") > 1.0  # the sample is skewed
    misordered = _one(
        con,
        "SELECT count(*) FROM attempts WHERE handler_started_at < dispatched_at "
        "OR (status IS NOT NULL AND handler_outcome IN ('finished', 'error') "
        "    AND handler_ended_at > answered_at)",
    )
    assert misordered == 0
    assert (
        _one(con, "SELECT count(*) FROM timeline WHERE lane_kind <> 'gateway' AND attempt IS NULL")
        == 0
    )


def test_deviations_are_exactly_the_policy_deviation_scenario(sample: Any) -> None:
    con, truth = sample
    expected = {t["request_id"] for t in truth if t["code"] == "L002"}
    got = {r[0] for r in con.execute("SELECT request_id FROM attempts WHERE deviation").fetchall()}
    assert got == expected


@pytest.mark.parametrize(
    ("code", "sql"),
    [
        (
            "R001",
            "SELECT count(DISTINCT runner_id) >= 3 FROM attempts "
            "WHERE request_id = ? AND runner_terminated",
        ),
        (
            "R003",
            "SELECT count(*) >= 2 FROM attempts WHERE request_id = ? "
            "AND error_type = 'request_timeout' AND runner_terminated",
        ),
        (
            "C001",
            "SELECT bool_or(forwarded_at IS NULL AND handler_was_running) "
            "FROM cancellations WHERE request_id = ?",
        ),
        ("C002", "SELECT bool_or(received_at IS NOT NULL) FROM cancellations WHERE request_id = ?"),
        ("C003", "SELECT bool_or(ran_after_parent_s > 1) FROM children WHERE request_id = ?"),
        ("C004", "SELECT bool_or(propagation_s > 5) FROM cancellations WHERE request_id = ?"),
        (
            "C005",
            "SELECT bool_or(kind = 'disconnect' AND handler_outcome = 'finished') "
            "FROM cancellations WHERE request_id = ?",
        ),
        ("C006", "SELECT count(*) > 0 FROM resources WHERE request_id = ? AND released_at IS NULL"),
    ],
)
def test_ground_truth_is_visible_in_the_replay(sample: Any, code: str, sql: str) -> None:
    con, truth = sample
    requests = [t["request_id"] for t in truth if t["code"] == code]
    assert requests, f"no {code} in the ground truth"
    for rid in requests:
        assert _one(con, sql, [rid]) is True, (code, rid)


def test_setup_failures_end_runners(sample: Any) -> None:
    con, truth = sample
    for t in (t for t in truth if t["code"] == "L001"):
        n = _one(
            con,
            "SELECT count(*) FROM runners WHERE app = ? AND end_kind = 'setup_failed' "
            "OR (app = ? AND end_reason = 'startup_timeout')",
            [t["app"], t["app"]],
        )
        assert n >= 3
