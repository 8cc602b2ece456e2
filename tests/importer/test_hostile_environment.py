"""Every error is one line and exit 2 (disk full, out of memory, a file name with invalid
UTF-8, a symbolic link to itself, special files); a failed import leaves no empty database a
later `check --db` passes; read-only commands work while another reader holds the file;
`**` over symbolic link loops visits each real folder once."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from importer_helpers import run_analyzer, sample_event, write_lines

from analyzer.importers.paths import expand_paths, glob_paths
from analyzer.store import connect

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_logs" / "native"


def _run(
    *args: str, limit: Callable[[], None] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_analyzer(*args, limit=limit, env=env)


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *words: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("analyzer: error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_disk_full_is_one_line_and_leaves_no_database(tmp_path: Path) -> None:
    def small_disk() -> None:  # writes beyond 300 KB fail as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    db = tmp_path / "full.duckdb"
    r = _run("import", str(SAMPLE), "--db", str(db), limit=small_disk)
    _one_line_exit_2(r, "disk full")
    assert not db.exists()  # nothing a later check could pass on
    _one_line_exit_2(_run("check", "--db", str(db)), "not found")


@pytest.mark.parametrize("megabytes", [600, 560])  # a failed allocation; a thread not started
def test_out_of_memory_is_one_line(tmp_path: Path, megabytes: int) -> None:
    """An address-space limit (``ulimit -v``) the import runs into: one line, exit 2.

    ``MALLOC_ARENA_MAX=1`` keeps glibc from reserving an arena per thread: without it a thread
    can meet the limit while glibc itself allocates its thread-local data, and glibc ends the
    process with exit 127 before any handler of ours runs (measured: 2 runs in 8 at 600 MB).
    Even with it, under load glibc's own abort (exit 127, "cannot allocate memory for
    thread-local data") still ends 1 run in 4 or so at 560 MB: no code of ours runs then, so
    that outcome is retried (at most 3 runs); any other outcome is asserted at once.
    """
    log = tmp_path / "big.jsonl"
    write_lines(log, [sample_event("log", message=f"{i} " + "x" * 3000) for i in range(20_000)])

    def little_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    for _ in range(3):
        r = _run(
            "import", str(log), "--db", str(tmp_path / "m.duckdb"),
            limit=little_memory, env={"MALLOC_ARENA_MAX": "1"},
        )  # fmt: skip
        if not (r.returncode == 127 and "thread-local data" in r.stderr):
            break
    _one_line_exit_2(r, "out of memory")


def test_database_without_events_fails_check(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    connect(db).close()  # the tables, no event: what a failed import used to leave
    _one_line_exit_2(_run("check", "--db", str(db)), "holds no events")


def test_failed_import_removes_the_database_it_created(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(2000))
    db = tmp_path / "new.duckdb"
    _one_line_exit_2(_run("import", str(bad), "--db", str(db), "--format", "native"))
    assert not db.exists()


def test_invalid_utf8_file_name(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/bad\xff.jsonl"
    with open(name, "wb") as f:
        f.write((SAMPLE / "gateway.jsonl").read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n")
    r = subprocess.run(
        [sys.executable, "-m", "analyzer", "import", name, "--db", str(tmp_path / "u.duckdb")],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    err = r.stderr.decode("utf-8")  # the message itself is valid UTF-8
    assert r.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert "not valid UTF-8" in err and "bad\\xff.jsonl" in err


def test_symlink_to_itself_and_special_files(tmp_path: Path) -> None:
    loop = tmp_path / "self.jsonl"
    loop.symlink_to(loop)
    _one_line_exit_2(_run("import", str(loop), "--db", str(tmp_path / "a.duckdb")), "loop")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    started = time.monotonic()
    r = _run("import", str(fifo), "--db", str(tmp_path / "b.duckdb"))
    _one_line_exit_2(r, "not a regular file", "FIFO")
    assert time.monotonic() - started < 60  # refused, never waits for a writer
    _one_line_exit_2(_run("import", "/dev/zero", "--db", str(tmp_path / "c.duckdb")), "device")
    # a folder scan skips the FIFO (no log) and imports the real file
    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "logs" / "pipe.jsonl")
    write_lines(tmp_path / "logs" / "real.jsonl", [sample_event("log")])
    assert [p.name for p in expand_paths([tmp_path / "logs"])] == ["real.jsonl"]


def test_size_zero_files_with_content_are_refused(tmp_path: Path) -> None:
    proc = Path("/proc/self/mountinfo")
    assert proc.stat().st_size == 0 and proc.read_bytes()
    r = _run("import", str(proc), "--db", str(tmp_path / "p.duckdb"), "--format", "native")
    _one_line_exit_2(r, "reports size 0 but has content")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = _run("import", str(empty), "--db", str(tmp_path / "e.duckdb"), "--format", "native")
    assert r.returncode == 0, r.stderr  # a really empty file is fine


def test_globstar_visits_each_real_folder_once(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    write_lines(deep / "g.jsonl", [sample_event("log")])
    write_lines(root / "top.jsonl", [sample_event("log")])
    (deep / "up").symlink_to("..")
    (deep / "up2").symlink_to("../..")
    (root / "a" / "root").symlink_to(root)
    (root / "other").symlink_to(deep)  # a second name for a real folder
    started = time.monotonic()
    found = glob_paths(f"{root}/**/*.jsonl")
    assert time.monotonic() - started < 5
    assert sorted(p.name for p in found) == ["g.jsonl", "top.jsonl"]
    assert [p.name for p in expand_paths([f"{root}/**/*.jsonl"])] == ["g.jsonl", "top.jsonl"]
    assert [p.name for p in glob_paths(f"{root}/*/b/*.jsonl")] == ["g.jsonl"]


def test_timeline_reads_while_another_reader_holds_the_database(
    sample_db_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "shared.duckdb"
    db.write_bytes(sample_db_path.read_bytes())
    con = connect(db, read_only=True)
    rid = con.execute("SELECT request_id FROM requests ORDER BY request_id LIMIT 1").fetchall()
    con.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        r = _run("timeline", rid[0][0], "--db", str(db))
        assert r.returncode == 0, r.stderr
        assert rid[0][0] in r.stdout
        assert _run("rules").returncode == 0
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.mark.parametrize("pattern", ["*.jsonl", "**/*.jsonl"])
def test_glob_matches_like_before(tmp_path: Path, pattern: str) -> None:
    (tmp_path / "d").mkdir()
    write_lines(tmp_path / "x.jsonl", [sample_event("log")])
    write_lines(tmp_path / "d" / "y.jsonl", [sample_event("log")])
    write_lines(tmp_path / ".hidden.jsonl", [sample_event("log")])
    import glob

    want = sorted(Path(p) for p in glob.glob(f"{tmp_path}/{pattern}", recursive=True))
    assert glob_paths(f"{tmp_path}/{pattern}") == want
