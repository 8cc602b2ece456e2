"""Benchmark the sharded analysis: `analyzer check --workers 1` against `--workers 2`.

    python benchmarks/shard.py --requests 1000000 --workdir /tmp/bench-shard
    python benchmarks/shard.py --requests 1200000 --workdir /tmp/bench-shard10m --only 1

The workload is ``/work/shared/bench/gen_native.py N FILE`` (about 8 events per request), kept
in the work folder. Steps, each a process of its own (wall time; the process's own peak RSS,
VmHWM through ``analyzer.procmem``; each worker reports its own in the JSON summary):

1. ``analyzer import FILE --db base.duckdb`` (skipped when ``base-N.duckdb`` exists);
2. for each variant and each ``--workers`` count: a copy of the database, then
   ``analyzer check --db COPY --workers W --format json`` (cold: nothing analysed yet).

Variants: ``as-generated`` (the generator gives each runner requests of all four apps, which a
platform never does: the four apps are then one group, one shard) and ``runner-per-app`` (the
same events with ``runner_id`` made per app, ``runner_id || '@' || app``: four groups). The
findings of every run are compared with those of ``--workers 1`` (same fingerprints).

The ratio is --workers 1 time / --workers W time within one run of this script (median of
``--repeat`` runs). The cluster projection: the measured per-shard cost (seconds per million
events in a worker) x shards / cores, plus the plan and merge times measured here.
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

from analyzer.procmem import measured_argv, read_peak

GEN = Path("/work/shared/bench/gen_native.py")


def _run(argv: list[str], peak_file: Path) -> tuple[float, float, int]:
    """(seconds, the process's own peak RSS MiB, exit code) of one ``analyzer`` process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err_b = proc.communicate()
    seconds = time.perf_counter() - started
    err = err_b.decode(errors="replace")
    code = proc.returncode
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err}")
    return seconds, read_peak(peak_file) / 2**20, code


def _analyzer(peak_file: Path, *args: str) -> list[str]:
    """``analyzer ARGS`` run so that it writes its own peak RSS (VmHWM) to ``peak_file``."""
    return measured_argv(peak_file, *args)


def _variant(base: Path, target: Path, variant: str) -> None:
    import duckdb

    shutil.copyfile(base, target)
    if variant == "runner-per-app":
        con = duckdb.connect(str(target))
        con.execute(
            "UPDATE events SET runner_id = runner_id || '@' || app "
            "WHERE runner_id IS NOT NULL AND app IS NOT NULL"
        )
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-shard"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--variants", nargs="+", default=["as-generated", "runner-per-app"])
    ap.add_argument("--only", type=int, default=None, help="only this --workers count")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cores", type=int, default=64, help="cores of the projected cluster")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    logs = work / f"native-{args.requests}.jsonl"
    if not logs.exists():
        subprocess.run([sys.executable, str(GEN), str(args.requests), str(logs)], check=True)
    base = work / f"base-{args.requests}.duckdb"
    report: dict[str, Any] = {"requests": args.requests, "log_bytes": logs.stat().st_size}
    if not base.exists():
        peak = work / "import.peak"
        s, rss, _ = _run(_analyzer(peak, "import", str(logs), "--db", str(base)), peak)
        report["import"] = {"seconds": round(s, 2), "peak_rss_mib": round(rss, 1)}
        print(f"import: {s:.1f} s, peak {rss:.0f} MiB", flush=True)
    workers = [args.only] if args.only else args.workers
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for variant in args.variants:
        runs[variant] = {}
        for _ in range(args.repeat):
            for w in workers:
                db = work / f"check-{variant}-w{w}.duckdb"
                out = work / f"check-{variant}-w{w}.json"
                _variant(base, db, variant)
                peak = work / f"check-{variant}-w{w}.peak"
                s, rss, _ = _run(
                    _analyzer(
                        peak,
                        "check",
                        "--db",
                        str(db),
                        "--workers",
                        str(w),
                        "--format",
                        "json",
                        "--fail-on",
                        "never",
                        "-o",
                        str(out),
                        "--shard-dir",
                        str(work / "shards"),
                    ),
                    peak,
                )
                doc = json.loads(out.read_text(encoding="utf-8"))
                summary = doc["summary"]
                entry = {
                    "seconds": round(s, 2),
                    "peak_rss_mib": round(rss, 1),
                    "events": summary["events"],
                    "findings": summary["findings"],
                    "fingerprints": sorted(f["fingerprint"] for f in doc["findings"]),
                    "sharding": summary.get("sharding"),
                    "shards": summary.get("shards"),
                }
                runs[variant].setdefault(w, []).append(entry)
                shards = summary.get("shards") or []
                worst = max((x["peak_rss_mib"] for x in shards), default=0)
                print(
                    f"{variant} --workers {w}: {s:.1f} s, peak {rss:.0f} MiB "
                    f"(worst worker {worst:.0f} MiB), {len(shards) or 1} shard(s), "
                    f"{summary['findings']} findings",
                    flush=True,
                )
                db.unlink(missing_ok=True)
    table = []
    for variant, by_w in runs.items():
        ref = by_w.get(min(by_w))
        for w, entries in sorted(by_w.items()):
            med = statistics.median(e["seconds"] for e in entries)
            base_med = statistics.median(e["seconds"] for e in ref) if ref else med
            same = ref is None or all(e["fingerprints"] == ref[0]["fingerprints"] for e in entries)
            row = {
                "variant": variant,
                "workers": w,
                "median_s": med,
                "speedup_vs_first": round(base_med / med, 3),
                "peak_rss_mib": max(e["peak_rss_mib"] for e in entries),
                "same_findings": same,
            }
            shards = entries[0]["shards"]
            if shards:
                ev = sum(x["events"] for x in shards)
                sec = sum(x["seconds"] for x in shards)
                per_m = sec / (ev / 1e6)
                sh = entries[0]["sharding"]
                row["per_shard_s_per_m_events"] = round(per_m, 2)
                row["worst_worker_mib"] = max(x["peak_rss_mib"] for x in shards)
                row["plan_s"], row["merge_s"] = sh["plan_s"], sh["merge_s"]
                row["projection"] = (
                    f"{per_m:.1f} s per 1M events per shard; a day of E million events in "
                    f"shards of 3M on {args.cores} cores: E x {per_m:.1f} / {args.cores} s "
                    f"+ plan and merge (here {sh['plan_s']} + {sh['merge_s']} s for "
                    f"{entries[0]['events'] / 1e6:.1f}M events, both linear in events)"
                )
            table.append(row)
    report["runs"] = table
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
