"""The native importer, line by line: every event, timestamps, broken lines, types, extra."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from importer_helpers import fresh, rows, sample_event, write_lines

from analyzer.events import EVENT_MODELS, FIELD_TYPES
from analyzer.importers import import_paths


def _epoch(value: object) -> float:
    assert isinstance(value, datetime)
    return value.timestamp()


def test_every_event_type_round_trips(tmp_path: Path) -> None:
    samples = [sample_event(name) for name in EVENT_MODELS]
    path = write_lines(tmp_path / "all.jsonl", list(samples))
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert summary.events == len(EVENT_MODELS) and summary.rejected == 0
    assert summary.unknown_events == 0 and summary.naive_timestamps == 0
    fields = [f for f in FIELD_TYPES if f != "ts"]
    cols = ", ".join(f'"{f}"' for f in fields)
    got = rows(con, f"SELECT line_no, epoch(ts), {cols}, extra, origin, file FROM events")
    assert len(got) == len(samples)
    expected_ts = datetime(2026, 11, 20, 14, 3, 11, 482000, tzinfo=UTC).timestamp()
    for line_no, ts, *values, extra, origin, file in got:
        sample = samples[line_no - 1]
        assert ts == pytest.approx(expected_ts)
        assert {f: v for f, v in zip(fields, values, strict=True) if v is not None} == {
            k: v for k, v in sample.items() if k != "ts"
        }
        assert extra is None and origin == "native" and file == str(path)


def test_timestamp_forms(tmp_path: Path) -> None:
    base = {"source": "gateway", "event": "log"}
    forms = [
        ("2026-11-20T14:03:11.482Z", 1795183391.482, False),
        ("2026-11-20T16:03:11.482+02:00", 1795183391.482, False),
        ("2026-11-20T09:03:11.482-0500", 1795183391.482, False),
        ("2026-11-20T14:03:11.482", 1795183391.482, True),  # naive: taken as UTC
        ("2026-11-20 14:03:11.482", 1795183391.482, True),
        (1795183391.482, 1795183391.482, False),  # Unix seconds with a fraction
        (1795183391, 1795183391.0, False),
        ("1795183391.5", 1795183391.5, False),  # numeric string: Unix seconds
    ]
    path = write_lines(tmp_path / "ts.jsonl", [{"ts": ts, **base} for ts, _, _ in forms])
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert summary.rejected == 0
    assert summary.naive_timestamps == 2
    got = rows(con, "SELECT line_no, epoch(ts), ts_naive, ts_raw FROM events ORDER BY line_no")
    for (line_no, epoch, naive, raw), (ts, want, want_naive) in zip(got, forms, strict=True):
        assert epoch == pytest.approx(want, abs=1e-6), line_no
        assert naive is want_naive, line_no
        if isinstance(ts, str) and ts.endswith("Z"):
            assert raw is None, line_no  # an RFC 3339 UTC time: ts holds it exactly
        else:
            assert raw == (ts if isinstance(ts, str) else json.dumps(ts)), line_no
    assert rows(con, "SELECT sum(naive_timestamps) FROM imports") == [(2,)]


BROKEN = [
    ("not json at all {", "not JSON"),
    ('["an", "array"]', "not an object"),
    ('{"source": "gateway", "event": "log"}', "missing ts"),
    ('{"ts": "yesterday", "source": "gateway", "event": "log"}', "invalid ts"),
    ('{"ts": 1795183391, "source": "platform", "event": "log"}', "unknown source"),
    ('{"ts": 1795183391, "source": "gateway"}', "missing event"),
    (
        '{"ts": 1795183391, "source": "gateway", "event": "attempt.finished", "status": "abc"}',
        'wrong type for status: "abc"',
    ),
]


def test_seven_kinds_of_broken_lines_between_good_ones(tmp_path: Path) -> None:
    good = sample_event("attempt.finished")
    lines: list[str | dict[str, object]] = [good]
    expected: dict[int, str] = {}
    for raw, reason in BROKEN:
        lines.append(raw)
        expected[len(lines)] = reason
        lines.append("")  # blank lines are skipped but counted
        lines.append(good)
    path = write_lines(tmp_path / "broken.jsonl", lines)
    con = fresh(tmp_path)
    summary = import_paths(con, [path])

    got = dict(rows(con, "SELECT line_no, reason FROM rejected"))
    assert got == expected
    good_lines = {i for i, x in enumerate(lines, 1) if isinstance(x, dict)}
    assert {r[0] for r in rows(con, "SELECT line_no FROM events")} == good_lines
    assert summary.events == len(good_lines) == 8
    assert summary.rejected == 7
    assert summary.lines == len(lines)
    raws = dict(rows(con, "SELECT line_no, raw FROM rejected"))
    assert raws[expected_line(expected, "not JSON")] == "not json at all {"
    assert [(r.line_no, r.reason) for r in summary.first_rejected] == sorted(expected.items())[:5]


def expected_line(expected: dict[int, str], reason: str) -> int:
    return next(n for n, r in expected.items() if r == reason)


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("status", "503", 503),
        ("status", 503.0, 503),
        ("attempt", " 2 ", 2),
        ("deadline_s", "12.5", 12.5),
        ("needs_retry", "1", True),
        ("needs_retry", 0, False),
        ("stop_runner", "False", False),
        ("no_retry", "yes", True),
        ("request_id", 12345, "12345"),
        ("status", None, None),
    ],
)
def test_lax_coercion_of_clean_values(
    tmp_path: Path, field: str, value: object, stored: object
) -> None:
    line = {"ts": 1795183391, "source": "gateway", "event": "attempt.finished", field: value}
    con = fresh(tmp_path)
    summary = import_paths(con, [write_lines(tmp_path / "lax.jsonl", [line])])
    assert summary.rejected == 0
    assert rows(con, f'SELECT "{field}" FROM events') == [(stored,)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", 503.5),
        ("status", True),
        ("status", {"code": 503}),
        ("attempt", "first"),
        ("attempt", 99999999999),
        ("deadline_s", "soon"),
        ("ok", "maybe"),
        ("needs_retry", 2),
    ],
)
def test_wrong_types_are_rejected(tmp_path: Path, field: str, value: object) -> None:
    line = {"ts": 1795183391, "source": "gateway", "event": "attempt.finished", field: value}
    con = fresh(tmp_path)
    summary = import_paths(con, [write_lines(tmp_path / "bad.jsonl", [line])])
    assert summary.events == 0 and summary.rejected == 1
    (reason,) = rows(con, "SELECT reason FROM rejected")[0]
    assert reason == f"wrong type for {field}: {json.dumps(value, separators=(',', ':'))}"


def test_unknown_fields_kept_in_extra_and_unknown_events_counted(tmp_path: Path) -> None:
    lines = [
        {"ts": 1795183391, "source": "runner", "event": "gpu.thermal", "temp_c": 91,
         "labels": {"zone": "a", "n": [1, 2]}, "kept_null": None, "status": None},
        {**sample_event("handler.started"), "trace_id": "abc"},
        sample_event("handler.started"),
    ]  # fmt: skip
    con = fresh(tmp_path)
    summary = import_paths(con, [write_lines(tmp_path / "x.jsonl", lines)])
    assert summary.events == 3 and summary.unknown_events == 1
    got = rows(con, "SELECT line_no, event, extra FROM events ORDER BY line_no")
    assert got[0][1] == "gpu.thermal"
    assert json.loads(got[0][2]) == {
        "temp_c": 91,
        "labels": {"zone": "a", "n": [1, 2]},
        "kept_null": None,  # an unknown field is kept even when null; a null known one is absent
    }
    assert json.loads(got[1][2]) == {"trace_id": "abc"}
    assert got[2][2] is None
    assert rows(con, "SELECT unknown_events FROM imports") == [(1,)]


def test_crlf_bom_and_unterminated_last_line(tmp_path: Path) -> None:
    a, b = sample_event("runner.ready"), sample_event("runner.started")
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(a).encode() + b"\r\n\r\n" + json.dumps(b).encode()
    )
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected, summary.lines) == (2, 0, 3)
    assert rows(con, "SELECT line_no, event FROM events ORDER BY 1") == [
        (1, "runner.ready"),
        (3, "runner.started"),
    ]


def test_invalid_utf8_line_is_rejected_not_lost(tmp_path: Path) -> None:
    good = json.dumps(sample_event("runner.ready")).encode()
    path = tmp_path / "bin.jsonl"
    path.write_bytes(good + b"\n\xff\xfe\x00garbage\n" + good + b"\n")
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected) == (2, 1)
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(2, "not JSON")]


def test_event_ids_unique_across_files(tmp_path: Path) -> None:
    one = write_lines(tmp_path / "a.jsonl", [sample_event("runner.ready")] * 3)
    two = write_lines(tmp_path / "b.jsonl", [sample_event("runner.started")] * 3)
    con = fresh(tmp_path)
    import_paths(con, [one])
    import_paths(con, [two])
    assert rows(con, "SELECT count(DISTINCT event_id), count(*) FROM events") == [(6, 6)]
