"""Benchmark the analysis (`analyzer check --db`, cold: replay + rules) of the native workload
against DuckDB's typed `read_ndjson` of the same file (issue 16).

    python benchmarks/analysis.py                        # 200k requests, 3 rounds
    python benchmarks/analysis.py --repeat 1 --scale 1000000   # + 1M: time per event, peak

The workload is `/work/shared/bench/gen_native.py N FILE` (generated once into --data, by
default /work/bench-data/native-N.jsonl; imported once into --workdir, kept). The
reference reads the file with explicit `columns=` (the 18 fields the generator writes, typed),
the engine's limit. Each step runs in its own process (wall time, peak RSS); with `--repeat`
the reference and the cold check alternate and the MEDIANS are compared. The check is made
cold before each round (replay tables' bookkeeping removed: a full replay, not an incremental
no-op). Targets: cold check <= 1.5x the typed read; peak <= 2 GiB at 1M requests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import GIB, measure

GENERATOR = Path("/work/shared/bench/gen_native.py")
DATA = Path("/work/bench-data")
COLUMNS = {
    "ts": "TIMESTAMPTZ",
    "source": "VARCHAR",
    "event": "VARCHAR",
    "app": "VARCHAR",
    "request_id": "VARCHAR",
    "runner_id": "VARCHAR",
    "endpoint": "VARCHAR",
    "mode": "VARCHAR",
    "attempt": "INTEGER",
    "status": "INTEGER",
    "error_type": "VARCHAR",
    "reason": "VARCHAR",
    "child_id": "VARCHAR",
    "kind": "VARCHAR",
    "name": "VARCHAR",
    "outcome": "VARCHAR",
    "exc_type": "VARCHAR",
    "message": "VARCHAR",
}


def workload(data: Path, requests: int) -> Path:
    """The generated workload of ``requests`` requests (generated once, shared)."""
    log = data / f"native-{requests}.jsonl"
    if not log.exists():
        print(f"generating {requests} requests into {log} ...", flush=True)
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GENERATOR), str(requests), str(log)], check=True)
    return log


def imported(work: Path, log: Path, fresh: bool) -> Path:
    """A database holding ``log`` imported (kept between runs unless ``fresh``)."""
    db = work / f"{log.stem}.duckdb"
    if fresh or not db.exists():
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        imp = measure("cli", "import", str(log), "--db", str(db))
        print(f"import of {log.name}: {imp['seconds']:.1f} s (not part of the target)", flush=True)
    return db


def cold_check(db: Path, report: Path) -> dict[str, float]:
    """One cold ``check --db`` (the replay's bookkeeping removed first: a full replay)."""
    measure("stale", str(db))
    return measure(
        "cli", "check", "--db", str(db), "--format", "json", "--output", str(report),
        "--fail-on", "never",
    )  # fmt: skip


def medians(runs: list[dict[str, float]], report: Path) -> tuple[float, float, int]:
    """The checks' median seconds, their highest peak and the events the report counts."""
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak_bytes"] for r in runs)
    return seconds, peak, int(json.loads(report.read_text())["summary"]["events"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="databases (default: a temp dir)")
    ap.add_argument("--data", type=Path, default=DATA, help="generated workloads (shared)")
    ap.add_argument("--fresh-import", action="store_true", help="import again even if kept")
    ap.add_argument(
        "--scale",
        type=int,
        default=None,
        help="also a cold check at this many requests (e.g. 1000000): time per event of both",
    )
    ap.add_argument("--scale-repeat", type=int, default=1)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.gettempdir()) / "analyzer-analysis"
    work.mkdir(parents=True, exist_ok=True)
    log = workload(args.data, args.requests)
    db = imported(work, log, args.fresh_import)
    report = work / f"report-{args.requests}.json"
    typed, cold = [], []
    for _ in range(args.repeat):
        raw = work / "raw.duckdb"
        typed.append(measure("raw_columns", str(raw), json.dumps(COLUMNS), str(log)))
        raw.unlink(missing_ok=True)
        cold.append(cold_check(db, report))
        print(
            f"  typed read {typed[-1]['seconds']:.2f} s, cold check {cold[-1]['seconds']:.2f} s "
            f"(peak {cold[-1]['peak_bytes'] / 2**20:.0f} MiB)",
            flush=True,
        )
    t = statistics.median(r["seconds"] for r in typed)
    c, peak, events = medians(cold, report)
    print(f"\n{args.requests:,} requests, {events:,} events, {log.stat().st_size / 1e6:.0f} MB")
    print(f"typed read_ndjson (median of {args.repeat}): {t:.2f} s")
    print(f"analyzer check --db, cold (median):     {c:.2f} s  = {c / t:.2f}x the typed read")
    print(f"peak RSS of the check: {peak / 2**20:.0f} MiB ({peak / GIB:.2f} GiB)")
    print(f"check time per event: {c / events * 1e6:.2f} us")
    if args.scale:
        big_log = workload(args.data, args.scale)
        big_db = imported(work, big_log, args.fresh_import)
        big_report = work / f"report-{args.scale}.json"
        runs = [cold_check(big_db, big_report) for _ in range(args.scale_repeat)]
        for r in runs:
            print(f"  cold check at {args.scale:,}: {r['seconds']:.2f} s, peak "
                  f"{r['peak_bytes'] / 2**20:.0f} MiB")  # fmt: skip
        bc, bpeak, bevents = medians(runs, big_report)
        print(f"\n{args.scale:,} requests, {bevents:,} events")
        print(f"analyzer check --db, cold (median of {args.scale_repeat}): {bc:.2f} s")
        print(f"peak RSS of the check: {bpeak / 2**20:.0f} MiB ({bpeak / GIB:.2f} GiB)")
        per, bper = c / events, bc / bevents
        print(
            f"time per event: {bper * 1e6:.2f} us vs {per * 1e6:.2f} us at {args.requests:,} "
            f"= {bper / per:.2f}x ({bevents / events:.2f}x the events in {bc / c:.2f}x the time)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
