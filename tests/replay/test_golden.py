"""Golden replay fixtures (sqlglot style): each ``fixtures/<case>/input.jsonl`` is replayed and
the selected columns of attempts / runners / cancellations / children / requests must equal
``expected.json`` (reviewed by hand; see ``make_fixtures.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.replay.golden import actual_rows, differences, fresh_replay

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").exists())


def test_every_situation_has_a_fixture() -> None:
    wanted = {
        "clean",
        "retry_503_chain",
        "oom",
        "cancel_honoured",
        "cancel_not_forwarded",
        "cancel_no_task",
        "cancel_orphaned_child",
        "cancel_slow",
        "cancel_resource_leak",
        "disconnect",
        "timeout_loop",
        "same_runner_twice",
        "multiplexed",
        "skewed_clocks",
        "shuffled",
        "missing_termination",
        "partial_window",
    }
    assert wanted <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    con = fresh_replay(FIXTURES / case / "input.jsonl")
    expected = json.loads((FIXTURES / case / "expected.json").read_text())
    diffs = differences(expected, actual_rows(con))
    assert not diffs, "\n".join(diffs)


def test_shuffled_lines_replay_like_ordered_ones() -> None:
    ordered = actual_rows(fresh_replay(FIXTURES / "retry_503_chain" / "input.jsonl"))
    shuffled = actual_rows(fresh_replay(FIXTURES / "shuffled" / "input.jsonl"))
    assert differences(ordered, shuffled) == []


def test_golden_comparison_detects_a_difference() -> None:
    expected = json.loads((FIXTURES / "retry_503_chain" / "expected.json").read_text())
    actual = actual_rows(fresh_replay(FIXTURES / "oom" / "input.jsonl"))
    assert differences(expected, actual)
