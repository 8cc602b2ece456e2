"""Golden comparison for the replay fixtures: selected columns of the replay tables.

Timestamps are compared as ISO strings within ``TS_TOLERANCE_S`` (runner times are aligned by an
estimated offset, so a few milliseconds of difference are expected), floats within
``FLOAT_TOLERANCE``; everything else exactly.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analyzer.replay import build
from tests.replay.helpers import fresh_db

TS_TOLERANCE_S = 0.06
FLOAT_TOLERANCE = 0.06

COLUMNS: dict[str, tuple[list[str], str]] = {
    "attempts": (
        [
            "request_id",
            "attempt",
            "runner_id",
            "handler_started_at",
            "handler_ended_at",
            "handler_outcome",
            "status",
            "error_type",
            "exc_type",
            "error_class",
            "expected_runner_impact",
            "expected_retry",
            "runner_terminated",
            "termination_inferred",
            "termination_reason",
            "retried",
            "requeue_reason",
            "deviation",
            "deviation_reason",
            "gpu_seconds",
            "needless_termination",
            "gpu_seconds_wasted",
        ],
        "request_id, attempt",
    ),
    "runners": (
        [
            "runner_id",
            "requests_served",
            "end_kind",
            "end_reason",
            "end_inferred",
            "killed_by_request_id",
            "clock_offset_s",
            "setup_s",
        ],
        "runner_id",
    ),
    "cancellations": (
        [
            "request_id",
            "kind",
            "attempt",
            "runner_id",
            "forwarded_at",
            "received_at",
            "receive_outcome",
            "handler_stopped_at",
            "handler_outcome",
            "handler_was_running",
            "propagation_s",
            "children",
            "children_leaked",
            "leaked_child_seconds",
            "resources_unreleased",
            "wasted_gpu_seconds",
        ],
        "request_id, kind",
    ),
    "children": (
        ["request_id", "child_id", "attempt", "runner_id", "outcome", "ran_after_parent_s"],
        "request_id, child_id",
    ),
    "requests": (
        [
            "request_id",
            "mode",
            "outcome",
            "final_status",
            "attempts",
            "runners_killed",
            "partial",
            "gpu_seconds",
            "gpu_seconds_wasted",
        ],
        "request_id",
    ),
}


def fresh_replay(path: Path) -> duckdb.DuckDBPyConnection:
    con = fresh_db(path)
    build(con)
    return con


def _select(col: str, ts_cols: set[str]) -> str:
    if col in ts_cols:
        return f"strftime({col}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%gZ') AS {col}"
    return col


def actual_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for table, (cols, order) in COLUMNS.items():
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ?",
                [table],
            ).fetchall()
        )
        ts_cols = {c for c in cols if str(types.get(c, "")).startswith("TIMESTAMP")}
        sql = f"SELECT {', '.join(_select(c, ts_cols) for c in cols)} FROM {table} ORDER BY {order}"
        rows = con.execute(sql).fetchall()
        out[table] = [
            {c: (round(v, 3) if isinstance(v, float) else v) for c, v in zip(cols, r, strict=True)}
            for r in rows
        ]
    return out


def _parse_ts(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or (isinstance(actual, float) and expected is not None):
        return actual is not None and abs(float(expected) - float(actual)) <= FLOAT_TOLERANCE
    if isinstance(expected, str) and isinstance(actual, str) and expected != actual:
        a, b = _parse_ts(expected), _parse_ts(actual)
        if a is not None and b is not None and "T" in expected:
            return abs((a - b).total_seconds()) <= TS_TOLERANCE_S
    return bool(expected == actual)


def differences(
    expected: dict[str, list[dict[str, Any]]], actual: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Human-readable differences (empty when the replay matches the fixture)."""
    diffs: list[str] = []
    for table, rows in expected.items():
        got = actual.get(table, [])
        if len(rows) != len(got):
            diffs.append(f"{table}: expected {len(rows)} rows, got {len(got)}: {got}")
            continue
        for i, (e, a) in enumerate(zip(rows, got, strict=True)):
            for col, value in e.items():
                if not same(value, a.get(col)):
                    diffs.append(f"{table}[{i}].{col}: expected {value!r}, got {a.get(col)!r}")
    return diffs
