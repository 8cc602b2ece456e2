"""A worker killed mid-run (SIGKILL) costs only its shard, which runs again: same output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.shard.test_same_answer import assert_same


def _worker_pid(shard_dir: Path, deadline: float) -> int:
    """The pid of a shard worker in the middle of its shard (its running.json exists)."""
    while time.monotonic() < deadline:
        for running in sorted(shard_dir.glob("out/*.tmp-*/running.json")):
            try:
                pid = int(json.loads(running.read_text(encoding="utf-8"))["pid"])
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError, KeyError):
                continue
            if b"analyzer.shard" in cmdline and str(shard_dir).encode() in cmdline:
                return pid  # ours, and still running
        time.sleep(0.005)
    raise AssertionError("no shard worker seen running")


def test_killed_worker_runs_again(sample_base: Path, sample_reference: Any, tmp_path: Path) -> None:
    db = tmp_path / "killed.duckdb"
    shutil.copyfile(sample_base, db)
    shard_dir, report = tmp_path / "shards", tmp_path / "killed.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analyzer",
            "check",
            "--db",
            str(db),
            "--workers",
            "2",
            "--shard-dir",
            str(shard_dir),
            "--format",
            "json",
            "--fail-on",
            "never",
            "-o",
            str(report),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        pid = _worker_pid(shard_dir, time.monotonic() + 120)
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    doc = json.loads(report.read_text(encoding="utf-8"))
    attempts = [s["attempts"] for s in doc["summary"]["shards"]]
    assert sorted(attempts)[-1] == 2 and attempts.count(2) == 1  # the killed one, run again
    assert_same(sample_reference, (db, doc))
    assert not list(shard_dir.glob("out/*.tmp-*"))  # the killed run's partial output is gone
