"""Timestamps: Unix times by magnitude (s/ms/us/ns), implausible times, NaN/Infinity and
impossible offsets rejected with a reason; the window is configurable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from importer_helpers import fresh, rows, sample_event, write_lines

from analyzer.cli import main
from analyzer.importers import import_paths
from analyzer.importers.rows import insert_rows
from analyzer.importers.timestamps import (
    BAD_OFFSET,
    NOT_FINITE,
    WindowError,
    parse_window,
    unix_seconds,
    use_window,
)

INSTANT = datetime(2026, 11, 20, 14, 3, 11, 482000, tzinfo=UTC)
SAME_INSTANT = [
    1795183391.482,
    "1795183391.482",
    1795183391482,  # ms: was year 58857
    "1795183391482",
    1795183391482000,  # us
    1795183391482000000,  # ns (OTel, the platform)
    "1795183391482000000",
    "2026-11-20T14:03:11.482Z",
    "2026-11-20T19:33:11.482+05:30",
]
WINDOW = "ts outside the plausible window 2000-01-01..2100-01-01"
BAD = [
    ("NaN", NOT_FINITE),
    ("Infinity", NOT_FINITE),
    ("-infinity", NOT_FINITE),
    ("infinity", NOT_FINITE),
    (1e300, "invalid ts"),
    (1e20, "invalid ts"),
    ("2026-11-20T10:00:00+99:99", BAD_OFFSET),
    ("2026-11-20T10:00:00+19:00", BAD_OFFSET),
    ("2026-11-20T10:00:00-05:75", BAD_OFFSET),
    ("58857-02-04T13:11:21Z", WINDOW),
    ("0001-01-01T00:00:00Z", WINDOW),
    ("1969-12-31T23:59:59Z", WINDOW),
    ("2150-01-01T00:00:00Z", WINDOW),
    (0, WINDOW),
    (5, WINDOW),
    (-1795183391482, WINDOW),
]


def test_unix_times_by_magnitude(tmp_path: Path) -> None:
    lines = [sample_event("request.received", ts=ts) for ts in SAME_INSTANT]
    path = write_lines(tmp_path / "t.jsonl", lines)
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected) == (len(lines), 0)
    stored = [r[0] for r in rows(con, "SELECT ts FROM events ORDER BY line_no")]
    assert all(abs((t - INSTANT).total_seconds()) < 1e-3 for t in stored), stored
    assert unix_seconds(1795183391482) == pytest.approx(1795183391.482)
    assert unix_seconds(float("nan")) is None and unix_seconds(1e20) is None


def test_implausible_times_are_rejected_with_a_reason(tmp_path: Path) -> None:
    lines = [json.dumps({**sample_event("request.received"), "ts": ts}) for ts, _ in BAD]
    path = write_lines(tmp_path / "b.jsonl", [*lines, sample_event("request.received")])
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected) == (1, len(BAD))
    reasons = [r[0] for r in rows(con, "SELECT reason FROM rejected ORDER BY line_no")]
    for (ts, want), got in zip(BAD, reasons, strict=True):
        assert got.startswith(want), (ts, got)


def test_window_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = sample_event("request.received", ts="1995-06-01T00:00:00Z")
    path = write_lines(tmp_path / "w.jsonl", [line])
    db = tmp_path / "w.duckdb"
    assert main(["import", str(path), "--db", str(db)]) == 0
    assert "plausible window 2000-01-01..2100-01-01" in capsys.readouterr().out
    path2 = write_lines(tmp_path / "w2.jsonl", [line])
    assert main(["import", str(path2), "--db", str(db), "--ts-window", "1990..2030"]) == 0
    assert "events                       1" in capsys.readouterr().out
    assert main(["import", str(path2), "--db", str(db), "--ts-window", "2030..2000"]) == 2
    assert "bad timestamp window" in capsys.readouterr().err
    with pytest.raises(WindowError):
        parse_window("soon")


def test_window_applies_to_mapped_rows(tmp_path: Path) -> None:
    con = fresh(tmp_path)
    base = {"source": "gateway", "event": "request.received", "request_id": "r", "line_no": 1}
    good = {**base, "ts": datetime(2026, 1, 1, tzinfo=UTC)}
    old = {**base, "ts": datetime(1900, 1, 1, tzinfo=UTC), "line_no": 2, "ts_raw": "1900"}
    result = insert_rows(con, [good, old], file="/x", import_id=1, origin="nginx")
    assert (result.events, result.rejected) == (1, 1)
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(2, f"{WINDOW}: 1900")]
    with use_window("1800..2100"):
        result = insert_rows(con, [old], file="/y", import_id=2, origin="nginx")
    assert (result.events, result.rejected) == (1, 0)
