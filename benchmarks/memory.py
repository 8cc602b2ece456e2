"""Peak memory of `analyzer import` on the hostile inputs of issue 17 (points 2 and 5).

    python benchmarks/memory.py            # every case once, as its own process
    python benchmarks/memory.py --runs 3   # medians of 3 runs

Cases (generated into ``--dir``, default a folder in the system temp dir): 600 lines with
100 KB messages, 15,000 lines of 50-key objects, 600 lines nested 1,000 deep, a ~1 MB .gz that
expands to 1 GiB without a newline, a 40 MB line over the 16 MiB limit, nginx with a
``$msec`` of 1e20 and Envoy with an attempt count of 99999999999 (each among 20,000 good
lines). Each import runs as a process; its peak RSS is its own ``VmHWM`` (analyzer.procmem; ``wait4``'s
``ru_maxrss`` would include this script's memory at the fork), its wall time is measured here, its
counts from the database. The bound to hold is 1 GiB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TS = "2026-11-20T14:03:11.482Z"
BOUND = 1 << 30
FIXTURES = REPO / "tests" / "formats" / "fixtures"
sys.path.insert(0, str(REPO))

from analyzer.procmem import measured_argv, read_peak  # noqa: E402


def _line(i: int, **more: object) -> str:
    return json.dumps({"ts": TS, "source": "runner", "event": "log", "request_id": f"r{i}", **more})


def long_messages(out: Path) -> None:
    out.write_text("".join(_line(i, message="m" * 100_000) + "\n" for i in range(600)))


def wide_objects(out: Path) -> None:
    with out.open("w") as f:
        for i in range(15_000):
            f.write(_line(i, **{f"k{j}_{i % 7}": j for j in range(50)}) + "\n")


def deep_nesting(out: Path) -> None:
    with out.open("w") as f:
        for i in range(600):
            f.write(_line(i)[:-1] + ', "x": ' + "[" * 1000 + "]" * 1000 + "}\n")


def gzip_bomb(out: Path) -> None:
    with gzip.open(out, "wb", compresslevel=9) as f:
        f.write((_line(1) + "\n").encode())
        block = b"A" * (16 << 20)
        for _ in range(64):
            f.write(block)
        f.write(b"\n" + (_line(3) + "\n").encode())


def oversize_line(out: Path) -> None:
    with out.open("w") as f:
        f.write(_line(1) + "\n" + _line(2, message="x" * 40_000_000) + "\n" + _line(3) + "\n")


def _access(fixture: str, bad: Callable[[str], str]) -> Callable[[Path], None]:
    def write(out: Path) -> None:
        good = [x for x in (FIXTURES / fixture).read_text().splitlines() if x.strip()]
        lines = [good[i % len(good)] for i in range(20_000)]
        lines[10_000] = bad(good[0])
        out.write_text("\n".join(lines) + "\n")

    return write


CASES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "600 lines of 100 KB messages": ("long.jsonl", long_messages),
    "15,000 lines of 50-key objects": ("wide.jsonl", wide_objects),
    "600 lines nested 1,000 deep": ("deep.jsonl", deep_nesting),
    "1 MB .gz -> 1 GiB without a newline": ("bomb.jsonl.gz", gzip_bomb),
    "a 40 MB line (limit 16 MiB)": ("oversize.jsonl", oversize_line),
    "nginx $msec 1e20": (
        "nginx.log",
        _access("nginx_access.log", lambda x: x.replace("1795269601.502", "1e20")),
    ),
    "Envoy attempt count 99999999999": (
        "envoy.log",
        _access("envoy_access.log", lambda x: x[:-2] + " 99999999999"),
    ),
}


def run_case(path: Path, db: Path) -> tuple[int, float, float]:
    """(exit code, peak RSS in MiB, seconds) of one import in its own process."""
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = db.with_suffix(".peak")
    started = time.perf_counter()
    proc = subprocess.run(
        measured_argv(out, "import", str(path), "--db", str(db)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak = read_peak(out) / 2**20 if out.exists() else float("nan")
    return proc.returncode, peak, seconds


def counts(db: Path) -> tuple[int, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        rejected = con.execute("SELECT count(*) FROM rejected").fetchall()[0][0]
    finally:
        con.close()
    return int(events), int(rejected)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "analyzer-mem")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"{'case':40} {'exit':>4} {'peak MiB':>9} {'seconds':>8} {'events':>7} {'rejected':>8}")
    worst = 0.0
    try:
        for name, (file_name, make) in CASES.items():
            path = args.dir / file_name
            if not path.exists():
                make(path)
            db = args.dir / (file_name + ".duckdb")
            runs = [run_case(path, db) for _ in range(args.runs)]
            code = max(r[0] for r in runs)
            peak = statistics.median(r[1] for r in runs)
            secs = statistics.median(r[2] for r in runs)
            events, rejected = counts(db) if code == 0 else (0, 0)
            worst = max(worst, max(r[1] for r in runs))
            print(f"{name:40} {code:>4} {peak:>9.0f} {secs:>8.1f} {events:>7} {rejected:>8}")
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    ok = worst * 2**20 <= BOUND
    print(f"worst peak {worst:.0f} MiB: {'within' if ok else 'OVER'} the 1 GiB bound")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
