"""`analyzer import` end to end: summary, silence off a terminal, errors as one line + exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from importer_helpers import run_analyzer, sample_event, write_lines

from analyzer.cli import main
from analyzer.store import connect

ROOT = Path(__file__).resolve().parents[2]


def _log(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "app.jsonl",
        [sample_event("request.received"), "oops", {"ts": "2026-11-20T10:00:00", "source":
         "runner", "event": "new.thing"}],
    )  # fmt: skip


def test_import_prints_summary_and_stays_quiet_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.duckdb"
    assert main(["import", str(_log(tmp_path)), "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar when stderr is not a terminal
    assert "imported 1 file" in out
    assert "events                       2" in out
    assert "rejected lines               1" in out
    assert "naive timestamps             1" in out
    assert "unknown events               1" in out
    assert "app.jsonl:2: not JSON" in out
    assert "events/s" in out
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(2,)]
    con.close()


def test_format_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "a.duckdb")
    assert main(["import", str(_log(tmp_path)), "--db", db, "--format", "native"]) == 0
    assert main(["import", str(_log(tmp_path)), "--db", db, "--format", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown format 'bogus'" in err


def test_missing_path_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.duckdb"
    assert main(["import", str(tmp_path / "nope.jsonl"), "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("analyzer: error: no such file or directory:")
    assert not db.exists()  # nothing touched


def test_unreadable_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"this is not gzip")
    assert main(["import", str(bad), "--db", str(tmp_path / "a.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err and "bad.jsonl.gz" in err


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Path]:
    """A database held open for writing by another, real process."""
    db = tmp_path / "locked.duckdb"
    code = textwrap.dedent(
        f"""
        import sys, duckdb
        con = duckdb.connect({str(db)!r})
        con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield db
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_locked_database_is_one_line_exit_2(
    tmp_path: Path, locked_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(_log(tmp_path)), "--db", str(locked_db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "is locked by another process" in err


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_analyzer(*args, cwd=cwd, timeout=120)


def test_real_process(tmp_path: Path, locked_db: Path) -> None:
    log = _log(tmp_path)
    ok = _run("import", str(log), cwd=tmp_path)  # default database ./analyzer.duckdb
    assert ok.returncode == 0, ok.stderr
    assert "events                       2" in ok.stdout and ok.stderr == ""
    assert (tmp_path / "analyzer.duckdb").exists()
    missing = _run("import", "nope.jsonl", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    locked = _run("import", str(log), "--db", str(locked_db), cwd=tmp_path)
    assert locked.returncode == 2 and locked.stderr.count("\n") == 1
    assert "locked" in locked.stderr and "Traceback" not in locked.stderr
