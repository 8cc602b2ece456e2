"""Ingest benchmark: `analyzer import` vs DuckDB's typed read_ndjson vs pandas, as processes.

    python benchmarks/ingest.py                  # 1.5M lines, 3 runs each (pandas once)
    python benchmarks/ingest.py --big            # also one import of a ~2 GB file (peak memory)

The log is generated once (benchmarks/make_native_log.py) into ``--dir`` (default: a folder in
the system temp dir, never the repository) and reused. Every contender runs as its own process;
its wall time and peak RSS come from ``os.wait4``. The figures are medians of the runs; the
ratio is the analyzer's throughput divided by DuckDB's raw typed ``read_ndjson`` into a table,
taken within each round (the contenders run round-robin, so each round sees about the same
machine load), then the median over the rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from make_native_log import generate  # noqa: E402

from analyzer.events import FIELD_TYPES  # noqa: E402

COLUMNS = (
    "{"
    + ", ".join(
        f"'{name}': '{'VARCHAR' if name == 'ts' else sql_type}'"
        for name, sql_type in FIELD_TYPES.items()
    )
    + "}"
)
# the raw baseline: DuckDB's typed JSON reader straight into a table (ts as text: it mixes
# strings and numbers, which no single typed column accepts)
DUCKDB_SCRIPT = """
import sys, duckdb
path, db, columns = sys.argv[1:4]
con = duckdb.connect(db)
literal = "'" + path.replace("'", "''") + "'"
con.execute(f"CREATE TABLE t AS SELECT * FROM read_ndjson({literal}, columns={columns})")
print(con.execute("SELECT count(*) FROM t").fetchall()[0][0])
"""
PANDAS_SCRIPT = """
import sys, pandas
print(len(pandas.read_json(sys.argv[1], lines=True)))
"""


@dataclass
class Run:
    seconds: float
    peak_mib: float
    output: str
    cpu_seconds: float = 0.0  # user + system: steadier than wall time on a shared machine


def run_process(argv: list[str], cwd: Path) -> Run:
    """Run ``argv`` to completion; its wall time and peak RSS (os.wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err.strip()[-500:]}")
    return Run(seconds, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime)


def contenders(log: Path, work: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "analyzer import": [
            py,
            "-m",
            "analyzer",
            "import",
            str(log),
            "--db",
            str(work / "a.duckdb"),
        ],
        "duckdb read_ndjson (typed)": [
            *(py, "-c", DUCKDB_SCRIPT, str(log), str(work / "d.duckdb"), COLUMNS)
        ],
        "pandas.read_json(lines=True)": [py, "-c", PANDAS_SCRIPT, str(log)],
    }


def ensure_log(folder: Path, lines: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"native-{lines}.jsonl"
    if not log.exists():
        print(f"generating {lines:,} lines -> {log}", flush=True)
        tmp = log.with_suffix(".tmp")
        generate(tmp, lines)
        tmp.rename(log)
    return log


def ensure_big(folder: Path, base: Path, target_bytes: int) -> Path:
    """A ~``target_bytes`` file: copies of ``base`` one after the other."""
    big = folder / f"native-big-{target_bytes // 10**9}GB.jsonl"
    if not big.exists():
        copies = max(1, -(-target_bytes // base.stat().st_size))
        print(f"writing {copies} copies of {base.name} -> {big}", flush=True)
        with big.open("wb") as out:
            for _ in range(copies):
                with base.open("rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    return big


def bench(log: Path, runs: int, pandas_runs: int) -> dict[str, list[Run]]:
    """Run the contenders round-robin (one of each per round), so that each round's
    contenders see about the same machine load; pandas only in the first rounds."""
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        for i in range(runs):
            for name, argv in contenders(log, work).items():
                if name.startswith("pandas") and i >= pandas_runs:
                    continue
                for db in work.glob("*.duckdb*"):
                    db.unlink()
                run = run_process(argv, work)
                results.setdefault(name, []).append(run)
                print(f"  round {i + 1}  {name:<30} {run.seconds:7.2f} s  {run.cpu_seconds:6.2f} s CPU  {run.peak_mib:7.0f} MiB",
                      flush=True)  # fmt: skip
    return results


def report(log: Path, lines: int, results: dict[str, list[Run]]) -> str:
    size_mb = log.stat().st_size / 1e6
    base = statistics.median(r.seconds for r in results["duckdb read_ndjson (typed)"])
    rows = [
        f"file: {log.name}, {lines:,} lines, {size_mb:,.0f} MB",
        "",
        "| contender | runs | median time | lines/s | MB/s | throughput vs DuckDB "
        "| median CPU | CPU vs DuckDB | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    duck = [r.seconds for r in results["duckdb read_ndjson (typed)"]]
    duck_cpu = [r.cpu_seconds for r in results["duckdb read_ndjson (typed)"]]
    for name, runs in results.items():
        if not runs:
            continue
        t = statistics.median(r.seconds for r in runs)
        peak = max(r.peak_mib for r in runs)
        # the ratio within each round (same load), then the median over the rounds
        ratio = statistics.median(d / r.seconds for d, r in zip(duck, runs, strict=False))
        cpu = statistics.median(r.cpu_seconds for r in runs)
        cpu_ratio = statistics.median(
            d / r.cpu_seconds for d, r in zip(duck_cpu, runs, strict=False) if r.cpu_seconds
        )
        rows.append(
            f"| {name} | {len(runs)} | {t:.2f} s | {lines / t:,.0f} | {size_mb / t:,.0f} "
            f"| {ratio:.2f}x | {cpu:.2f} s | {cpu_ratio:.2f}x | {peak:,.0f} MiB |"
        )
    rows.append("")
    rows.append(
        "throughput vs DuckDB = DuckDB's time / the contender's time in the same round, "
        "median over the rounds (DuckDB's median time alone: " + f"{base:.2f} s); "
        "CPU = user + system time of the whole process, the same ratio on it"
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pandas-runs", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "analyzer-bench")
    parser.add_argument("--big", action="store_true", help="also import a ~2 GB file once")
    parser.add_argument("--big-gb", type=float, default=2.0)
    args = parser.parse_args()

    log = ensure_log(args.dir, args.lines)
    lines = sum(1 for _ in log.open("rb"))
    print(f"benchmark on {log} ({lines:,} lines)", flush=True)
    results = bench(log, args.runs, args.pandas_runs)
    print()
    print(report(log, lines, results))
    if args.big:
        big = ensure_big(args.dir, log, int(args.big_gb * 1e9))
        big_lines = sum(1 for _ in big.open("rb"))
        with tempfile.TemporaryDirectory(prefix="ingest-big-") as tmp:
            run = run_process(contenders(big, Path(tmp))["analyzer import"], Path(tmp))
        print()
        print(
            f"big file: {big.stat().st_size / 1e9:.2f} GB, {big_lines:,} lines: analyzer import "
            f"{run.seconds:.1f} s ({big_lines / run.seconds:,.0f} lines/s), "
            f"peak RSS {run.peak_mib:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
