"""Benchmark `analyzer simulate` at scale: wall time and peak RSS in a child process.

    python benchmarks/simulate.py                       # 1,000,000 requests, gzip, into a temp dir
    python benchmarks/simulate.py --requests 100000 --keep /tmp/sim-100k

Target (issue 3): 1M requests in minutes within 1 GiB of memory (the simulator streams lines to
disk in time order and keeps only the work in flight).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from analyzer.simulate import simulate
t = time.perf_counter()
res = simulate(Path(sys.argv[1]), requests=int(sys.argv[2]), seed=1, gz=True, split_mb=256)
print(json.dumps({
    "seconds": time.perf_counter() - t,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "requests": res.requests, "attempts": res.attempts, "runners": res.runners,
    "lines": res.lines, "files": len(res.files), "expected_findings": len(res.truth),
}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the output")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp:
        out = args.keep or Path(tmp) / "out"
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(out), str(args.requests)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = round(time.perf_counter() - began, 1)
        result["bytes_written"] = sum(p.stat().st_size for p in out.iterdir())
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
