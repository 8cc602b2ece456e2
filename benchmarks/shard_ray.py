"""Same answer on a simulated day: `check --workers 1` against `--workers 2`, `--workers 3` and
`--engine ray --workers 2` (a local Ray of 2 CPUs, started and stopped by the check).

    python benchmarks/shard_ray.py --requests 20000 --workdir /tmp/bench-shard-ray

The day is ``analyzer simulate --requests N`` imported once; each run is ``analyzer check --db
COPY --format json`` in its own process (wall time, the process's own peak RSS: VmHWM through
``analyzer.procmem``). Every run is compared with ``--workers 1``: findings by fingerprint, and every
replay table and ``findings`` row by row (``EXCEPT ALL`` both ways,
``tests/shard/compare.py``). Medians over ``--repeat`` runs; the ratio is against
``--workers 1`` in the same run of this script.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.procmem import measured_argv, read_peak  # noqa: E402
from tests.shard.compare import fingerprints, table_differences  # noqa: E402

MODES: dict[str, list[str]] = {
    "workers-1": ["--workers", "1"],
    "workers-2": ["--workers", "2"],
    "workers-3": ["--workers", "3"],
    "ray-2": ["--engine", "ray", "--workers", "2"],
}


def _run(args: list[str], peak: Path) -> tuple[float, float]:
    """(seconds, the process's own peak RSS MiB) of ``analyzer ARGS``."""
    started = time.perf_counter()
    proc = subprocess.run(measured_argv(peak, *args), capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"analyzer {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr!r}")
    return seconds, read_peak(peak) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-shard-ray"))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "analyzer"]
    logs = work / f"day-{args.requests}"
    if not logs.exists():
        subprocess.run(
            [*py, "simulate", "--requests", str(args.requests), "--out", str(logs)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    base = work / f"base-{args.requests}.duckdb"
    if not base.exists():
        subprocess.run(
            [*py, "import", str(logs), "--db", str(base)], check=True, stdout=subprocess.DEVNULL
        )
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
    ref_db = work / "ref-workers-1.duckdb"
    for rep in range(args.repeat):
        for mode in args.modes:
            db = work / f"{mode}.duckdb"
            out = work / f"{mode}.json"
            shutil.copyfile(base, db)
            s, rss = _run(
                [
                    "check",
                    "--db",
                    str(db),
                    "--format",
                    "json",
                    "--fail-on",
                    "never",
                    "-o",
                    str(out),
                    *MODES[mode],
                ],
                work / f"{mode}.peak",
            )
            doc = json.loads(out.read_text(encoding="utf-8"))
            entry: dict[str, Any] = {
                "seconds": round(s, 2),
                "peak_rss_mib": round(rss, 1),
                "findings": doc["summary"]["findings"],
                "shards": len(doc["summary"].get("shards") or []),
            }
            if mode == "workers-1" and rep == 0:
                shutil.copyfile(db, ref_db)
            if ref_db.exists() and mode != "workers-1":
                diffs = table_differences(ref_db, db)
                entry["tables_differing"] = sorted(
                    t for t, d in diffs.items() if d[2] or d[3] or d[0] != d[1]
                )
                entry["rows_compared"] = sum(d[0] for d in diffs.values())
                entry["same_fingerprints"] = fingerprints(db) == fingerprints(ref_db)
            runs[mode].append(entry)
            print(f"{mode}: {json.dumps(entry)}", flush=True)
            db.unlink(missing_ok=True)
    base_med = statistics.median(e["seconds"] for e in runs.get("workers-1") or [{"seconds": 1}])
    table = [
        {
            "mode": mode,
            "median_s": statistics.median(e["seconds"] for e in entries),
            "ratio_vs_workers_1": round(
                statistics.median(e["seconds"] for e in entries) / base_med, 2
            ),
            "peak_rss_mib": max(e["peak_rss_mib"] for e in entries),
            "same_answer": all(
                not e.get("tables_differing") and e.get("same_fingerprints", True) for e in entries
            ),
        }
        for mode, entries in runs.items()
    ]
    print(json.dumps({"requests": args.requests, "runs": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
