"""Memory is bounded for any line shape: 100 KB messages, 50-key objects and lines nested
1,000 deep import (they used to run out of memory); a line over the size limit is rejected
without being held whole, also inside a .gz that expands to far more than memory."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import duckdb

from analyzer.procmem import measured_argv, read_peak

REPO = Path(__file__).resolve().parents[2]
TS = "2026-11-20T14:03:11.482Z"
GIB = 1 << 30


def _import(path: Path, db: Path, **env: str) -> tuple[int, int]:
    """Import in a child process; (exit code, that child's own peak RSS in bytes).

    The peak is the child's ``VmHWM`` (analyzer.procmem): ``ru_maxrss`` from ``wait4`` would
    include this test process's own memory at the fork (600 MB late in the full suite).
    """
    out = db.with_suffix(".peak")
    proc = subprocess.run(
        measured_argv(out, "import", str(path), "--db", str(db)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.returncode, read_peak(out)


def _counts(db: Path) -> tuple[int, list[tuple[int, str]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        events = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        rejected = con.execute("SELECT line_no, reason FROM rejected ORDER BY line_no").fetchall()
    finally:
        con.close()
    return events, [(int(n), str(r)) for n, r in rejected]


def _line(i: int, **more: object) -> str:
    return json.dumps({"ts": TS, "source": "runner", "event": "log", "request_id": f"r{i}", **more})


def test_long_messages_import(tmp_path: Path) -> None:
    log = tmp_path / "long.jsonl"
    log.write_text("".join(_line(i, message="m" * 100_000) + "\n" for i in range(600)))
    _, peak = _import(log, tmp_path / "l.duckdb")
    assert _counts(tmp_path / "l.duckdb") == (600, [])
    assert peak <= GIB, peak


def test_wide_and_deep_lines_import(tmp_path: Path) -> None:
    log = tmp_path / "shapes.jsonl"
    with log.open("w") as f:
        for i in range(3000):
            f.write(_line(i, **{f"k{j}": j for j in range(50)}) + "\n")
        for i in range(600):
            f.write(_line(10_000 + i)[:-1] + ', "x": ' + "[" * 1000 + "]" * 1000 + "}\n")
    _, peak = _import(log, tmp_path / "s.duckdb")
    assert _counts(tmp_path / "s.duckdb") == (3600, [])
    assert peak <= GIB, peak


def test_line_over_the_limit_is_rejected_not_held(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    with log.open("w") as f:
        f.write(_line(1) + "\n")
        f.write(_line(2, message="x" * 3_000_000, password="hunter2SECRET") + "\n")  # 3 MB
        f.write(_line(3) + "\n")
        f.write(_line(4, message="y" * 300_000) + "\n")  # within a 1 MB limit
    _import(log, tmp_path / "b.duckdb", ANALYZER_MAX_LINE_BYTES=str(1 << 20))
    events, rejected = _counts(tmp_path / "b.duckdb")
    assert events == 3
    assert rejected == [(2, "line too long: 3,000,1" + rejected[0][1][22:])]
    assert rejected[0][1].endswith("bytes (the limit is 1,048,576)")


def test_decompression_is_bounded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:  # ~0.3 MB that expand to 256 MiB
        f.write((_line(1) + "\n").encode())
        block = b"A" * (16 << 20)
        for _ in range(16):
            f.write(block)
        f.write(b"\n" + (_line(3) + "\n").encode())
    assert bomb.stat().st_size < 2_000_000
    _, peak = _import(bomb, tmp_path / "g.duckdb")
    events, rejected = _counts(tmp_path / "g.duckdb")
    assert events == 2 and [n for n, _ in rejected] == [2]
    assert rejected[0][1].startswith("line too long: 268,435,457 bytes")
    assert peak <= GIB // 2, peak  # the line is never held whole
