"""Benchmark the analysis (`analyzer check --db`, cold: replay + rules) of the native workload
against DuckDB's typed `read_ndjson` of the same file (issue 16).

    python benchmarks/analysis.py                        # 200k requests, 3 rounds
    python benchmarks/analysis.py --requests 1000000 --repeat 1

The workload is `/work/shared/bench/gen_native.py N FILE` (cached in the work folder). The
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.gettempdir()) / f"analyzer-analysis-{args.requests}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "native.jsonl"
    if not log.exists():
        print(f"generating {args.requests} requests into {log} ...", flush=True)
        subprocess.run([sys.executable, str(GENERATOR), str(args.requests), str(log)], check=True)
    db = work / "bench.duckdb"
    for stale in (db, work / "raw.duckdb"):
        for suffix in ("", ".wal"):
            Path(str(stale) + suffix).unlink(missing_ok=True)
    imp = measure("cli", "import", str(log), "--db", str(db))
    print(f"import: {imp['seconds']:.1f} s (not part of the target)", flush=True)
    check = ["check", "--db", str(db), "--format", "json", "--output", str(work / "report.json")]
    check += ["--fail-on", "never"]
    typed, cold = [], []
    for _ in range(args.repeat):
        typed.append(
            measure("raw_columns", str(work / "raw.duckdb"), json.dumps(COLUMNS), str(log))
        )
        measure("stale", str(db))
        cold.append(measure("cli", *check))
        print(
            f"  typed read {typed[-1]['seconds']:.2f} s, cold check {cold[-1]['seconds']:.2f} s "
            f"(peak {cold[-1]['peak_bytes'] / 2**20:.0f} MiB)",
            flush=True,
        )
    t = statistics.median(r["seconds"] for r in typed)
    c = statistics.median(r["seconds"] for r in cold)
    peak = max(r["peak_bytes"] for r in cold)
    events = json.loads((work / "report.json").read_text())["summary"]["events"]
    print(f"\n{args.requests:,} requests, {events:,} events, {log.stat().st_size / 1e6:.0f} MB")
    print(f"typed read_ndjson (median of {args.repeat}): {t:.2f} s")
    print(f"analyzer check --db, cold (median):     {c:.2f} s  = {c / t:.2f}x the typed read")
    print(f"peak RSS of the check: {peak / 2**20:.0f} MiB ({peak / GIB:.2f} GiB)")
    print(f"events per second of the check: {events / c:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
