"""`analyzer check --log-format NAME` forces the format of the PATHs it imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main

EXPORT = Path(__file__).resolve().parents[2] / "sample_logs" / "fal-export"


def test_forced_format_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Forcing the native reader on the platform's export rejects every line: nothing is detected.
    db = tmp_path / "forced.duckdb"
    out = tmp_path / "report.json"
    rc = main(
        [
            "check",
            str(EXPORT),
            "--db",
            str(db),
            "--log-format",
            "native",
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    summary = json.loads(out.read_text())["summary"]
    assert summary["events"] == 0 and summary["rejected_lines"] > 1000


def test_unknown_forced_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXPORT), "--log-format", "bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown format 'bogus'" in err[0]
