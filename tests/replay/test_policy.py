"""The policy as data: defaults from the seeds, files merged over them, Python and SQL agree."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import duckdb
import pytest

from analyzer.replay.policy import (
    Policy,
    PolicyError,
    classify_error,
    default_policy,
    expected_retry,
    expected_runner_impact,
    load_policy,
)
from analyzer.replay.policy_sql import install_policy_tables
from analyzer.rules.classify import classify_sql


def test_defaults_follow_the_seeds() -> None:
    p = default_policy()
    assert expected_runner_impact(p, status=200) == "healthy"
    assert expected_runner_impact(p, status=422) == "healthy"
    assert expected_runner_impact(p, status=500) == "health_check"
    assert expected_runner_impact(p, status=502) == "health_check"
    assert expected_runner_impact(p, status=503) == "terminated"
    assert expected_runner_impact(p, status=504) == "health_check"
    assert expected_runner_impact(p, failure="request_timeout") == "terminated"
    assert expected_runner_impact(p, status=503, stop_runner=False) == "healthy"
    assert expected_runner_impact(p, status=200, stop_runner=True) == "terminated"
    assert expected_retry(p, status=503) is True
    assert expected_retry(p, status=504) is True
    assert expected_retry(p, status=500) is False
    assert expected_retry(p, status=422) is False
    assert expected_retry(p, status=429) is None  # ambiguous until the logs show it
    assert expected_retry(p, status=429, observed_429="retried") is True
    assert expected_retry(p, status=503, mode="direct") is False
    assert expected_retry(p, status=503, no_retry=True) is False
    assert expected_retry(p, status=503, attempt=10) is False
    assert expected_retry(p, status=500, needs_retry=True) is True
    assert expected_retry(p, status=503, needs_retry=False) is False
    assert expected_retry(p, failure="request_timeout") is True
    assert p.max_attempts == 10
    assert p.error_types["runner_incomplete_response"] == 502


def test_skip_conditions_and_needs_retry_precedence() -> None:
    p = Policy(
        skip_retry_conditions=["timeout"], app_skip_retry_conditions={"a/b": ["server_error"]}
    )
    assert expected_retry(p, failure="request_timeout") is False
    assert expected_retry(p, status=503, app="a/b") is False
    assert expected_retry(p, status=503, app="c/d") is True
    assert expected_retry(p, status=503, app="a/b", needs_retry=True) is True


def test_policy_file_merges_over_defaults(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text(
        'retry_429 = "not_retried"\nmax_attempts = 5\n'
        '[gpu_hour_usd]\n"GPU-X" = 9.5\n'
        '[failures.runner_connection_refused]\nrunner_impact = "healthy"\n'
    )
    p = load_policy(toml)
    assert p.retry_429 == "not_retried" and p.max_attempts == 5
    assert p.price_per_gpu_hour("GPU-X") == 9.5
    assert p.price_per_gpu_hour("GPU-H100") == default_policy().price_per_gpu_hour("GPU-H100")
    assert p.price_per_gpu_hour(None) == p.default_gpu_hour_usd
    assert p.failures["runner_connection_refused"].runner_impact == "healthy"
    assert p.failures["runner_connection_refused"].retry is True  # merged, not replaced
    assert "request_timeout" in p.failures
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"skip_retry_conditions": ["server_error"]}))
    assert load_policy(js).skip_retry_conditions == ["server_error"]


@pytest.mark.parametrize(
    ("content", "suffix", "needle"),
    [
        ("max_attempts = 0\n", ".toml", "max_attempts"),
        ("nonsense = 1\n", ".toml", "nonsense"),
        ("not toml [", ".toml", "not valid"),
        ("[1, 2]", ".json", "must hold an object"),
        ('retry_429 = "maybe"\n', ".toml", "retry_429"),
    ],
)
def test_bad_policy_file_is_one_clear_error(
    tmp_path: Path, content: str, suffix: str, needle: str
) -> None:
    path = tmp_path / f"p{suffix}"
    path.write_text(content)
    with pytest.raises(PolicyError, match=needle):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_sql_tables_agree_with_python() -> None:
    p = Policy(skip_retry_conditions=["timeout"])
    con = duckdb.connect()
    install_policy_tables(con, p, observed_429="not_retried")
    for status in (200, 302, 400, 404, 408, 422, 429, 499, 500, 501, 502, 503, 504, 599):
        row = con.execute(
            "SELECT runner_impact, retry FROM policy_status WHERE status = ?", [status]
        ).fetchone()
        assert row is not None
        assert row[0] == expected_runner_impact(p, status=status)
        assert row[1] == expected_retry(p, status=status, observed_429="not_retried")
    for failure, rule in p.failures.items():
        row = con.execute(
            "SELECT runner_impact, retry, condition FROM policy_failure WHERE error_type = ?",
            [failure],
        ).fetchone()
        assert row == (rule.runner_impact, rule.retry, rule.condition)


CLASSIFY_CASES = [
    ("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2 GiB", "gpu_fault"),
    ("RuntimeError", "CUDA error: an illegal memory access was encountered", "gpu_fault"),
    ("RuntimeError", "NCCL error: unhandled system error", "gpu_fault"),
    ("RuntimeError", "device-side assert triggered", "gpu_fault"),
    ("ValueError", "unsupported triton kernel option", "bad_input"),
    ("RuntimeError", "triton compilation cache miss", "ordinary"),
    ("ValidationError", "prompt: field required", "bad_input"),
    ("KeyError", "'prompt'", "bad_input"),
    ("RateLimitError", "upstream says slow down", "rate_limit"),
    ("HTTPError", "429 Too Many Requests", "rate_limit"),
    ("TimeoutError", "upstream timed out", "upstream_timeout"),
    ("httpx.ReadTimeout", "", "upstream_timeout"),
    ("RuntimeError", "decoder failed", "ordinary"),
    (None, None, None),
]


@pytest.mark.parametrize(("exc", "msg", "cls"), CLASSIFY_CASES)
def test_error_classes_python_and_sql(exc: str | None, msg: str | None, cls: str | None) -> None:
    p = default_policy()
    assert classify_error(p, exc, msg) == cls
    assert classify_sql(duckdb.connect(), [(exc, msg)]) == [cls]


def test_policy_is_frozen_and_versioned() -> None:
    p = default_policy()
    assert p.version
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type varies
        p.max_attempts = 3  # type: ignore[misc]
    assert list(itertools.islice(p.status_rules, 1))
