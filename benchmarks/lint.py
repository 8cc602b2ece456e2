"""Benchmark `analyzer lint` on 1,000 app files against parsing them alone.

    python benchmarks/lint.py                    # 1,000 files in a temporary folder
    python benchmarks/lint.py --files 5000 --repeat 5
    python benchmarks/lint.py --filler methods   # nothing the prefilter can leave out
    python benchmarks/lint.py --workers 1        # `analyzer lint --workers 1`: one process
    python benchmarks/lint.py --from DIR         # real fal app files found below DIR

The files are the lint test cases (tests/lint/cases/*.yml) and the seeds' examples, each padded
with ordinary helper code to a realistic app module (~170 lines), renamed per file. The helpers
are top-level functions (``--filler functions``, the default: lint's prefilter blanks them
before parsing, analyzer/lint/prefilter.py) or methods of a plain class (``--filler methods``:
every line is parsed and walked, the worst case). Measured, each in its own process,
``--repeat`` times (median reported):

1. baseline: read every file and ``ast.parse`` it (the floor any source linter pays);
2. ``analyzer lint DIR --format json -o FILE``: end to end (start-up, discovery, every check,
   the report).

Wall and CPU time (user + system of the child) are both reported: on the shared 2-core machine
the load of others inflates wall time; CPU time is the process's own work. Target (issue 14):
1,000 files in under 5 s.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "lint" / "cases"
SEEDS = ROOT / "tests" / "lint" / "seeds"

FILLER = '''

def helper_{i}_{k}(items: list[dict], scale: float = 1.0) -> dict:
    """Ordinary code an app module also holds."""
    out: dict = {{}}
    for n, item in enumerate(items):
        key = str(item.get("name", n))
        if key in out:
            out[key]["count"] += 1
        else:
            out[key] = {{"count": 1, "value": item.get("value", 0) * scale}}
    total = sum(v["value"] for v in out.values())
    return {{"items": out, "total": total, "mean": total / max(len(out), 1)}}
'''
METHODS_CLASS = "\n\nclass Helpers{i}:\n"

_PARSE_ONLY = """
import ast, sys
from pathlib import Path
n = 0
for p in sorted(Path(sys.argv[1]).rglob("*.py")):
    ast.parse(p.read_bytes(), filename=str(p))
    n += 1
print(n)
"""


def sources() -> list[str]:
    out = []
    for path in sorted(CASES.glob("*.yml")):
        out += [c["source"] for c in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]]
    out += [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.py"))]
    return out


def filler(i: int, kind: str) -> str:
    code = "".join(FILLER.format(i=i, k=k) for k in range(12))
    if kind == "functions":
        return code
    return METHODS_CLASS.format(i=i) + "".join(
        f"    {line}" if line.strip() else line for line in code.splitlines(keepends=True)
    )


def write_corpus(folder: Path, files: int, kind: str = "functions") -> int:
    base = sources()
    lines = 0
    for i in range(files):
        text = base[i % len(base)].replace("class App(", f"class App{i}(")
        text += filler(i, kind)
        sub = folder / f"pkg{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"app_{i:05d}.py").write_text(text, encoding="utf-8")
        lines += text.count("\n")
    return lines


APP_FILE = re.compile(r"\(\s*fal\.App\b|@fal\.function|^from fal import", re.MULTILINE)


def write_from(folder: Path, files: int, source: Path) -> int:
    """``files`` copies, in turn, of the fal app files (files defining an app, that parse) below
    ``source``: real apps, e.g. public repositories fetched for reading (never checked in)."""
    apps = []
    for p in sorted(source.rglob("*.py")):
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if APP_FILE.search(text):
            try:
                ast.parse(text)  # templates and broken files are left out
            except (SyntaxError, ValueError):
                continue
            apps.append(text)
    if not apps:
        raise SystemExit(f"no fal app file below {source}")
    lines = 0
    for i in range(files):
        text = apps[i % len(apps)]
        sub = folder / f"pkg{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"app_{i:05d}.py").write_text(text, encoding="utf-8")
        lines += text.count("\n")
    return lines


def timed(
    cmd: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the child: user + system, the finished process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--filler", choices=["functions", "methods"], default="functions")
    ap.add_argument("--workers", type=int, default=None, help="analyzer lint --workers N")
    ap.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="a folder of real code: its fal app files, copied in turn, are the corpus",
    )
    ap.add_argument(
        "--cache",
        action="store_true",
        help="also time `analyzer lint --cache FILE` on unchanged files (the warm cache, after "
        "the fresh run each round has made it)",
    )
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="analyzer-lint-bench-") as tmp:
        corpus = Path(tmp) / "apps"
        if args.source is not None:
            lines = write_from(corpus, args.files, args.source)
        else:
            lines = write_corpus(corpus, args.files, args.filler)
        report = Path(tmp) / "report.json"
        parse_s, lint_s, parse_cpu, lint_cpu, warm_s, warm_cpu = [], [], [], [], [], []
        cache = Path(tmp) / "lint-cache.json"
        for _ in range(args.repeat):
            t, c, proc = timed([sys.executable, "-c", _PARSE_ONLY, str(corpus)], env)
            assert proc.returncode == 0 and int(proc.stdout) == args.files, proc.stderr
            parse_s.append(t)
            parse_cpu.append(c)
            cmd = [sys.executable, "-m", "analyzer", "lint", str(corpus), "--format", "json"]
            if args.workers is not None:
                cmd += ["--workers", str(args.workers)]
            t, c, proc = timed([*cmd, "-o", str(report), "--fail-on", "never"], env)
            assert proc.returncode == 0, proc.stderr
            lint_s.append(t)
            lint_cpu.append(c)
            if args.cache:
                cache.unlink(missing_ok=True)
                fresh = report.read_text(encoding="utf-8")
                cached = [*cmd, "-o", str(report), "--fail-on", "never", "--cache", str(cache)]
                timed(cached, env)  # makes the cache
                t, c, proc = timed(cached, env)
                assert proc.returncode == 0 and report.read_text(encoding="utf-8") == fresh
                warm_s.append(t)
                warm_cpu.append(c)
        doc = json.loads(report.read_text(encoding="utf-8"))
    parse_med, lint_med = statistics.median(parse_s), statistics.median(lint_s)
    parse_c, lint_c = statistics.median(parse_cpu), statistics.median(lint_cpu)
    summary = doc["summary"]
    what = f"app files of {args.source}" if args.source else f"helpers as {args.filler}"
    print(
        f"corpus: {args.files} files, {lines:,} lines ({what}), "
        f"{summary['apps']} apps; {summary['findings']} findings"
    )
    print(f"command: {' '.join(cmd[1:])} -o REPORT --fail-on never")
    print(f"load average before: {load}")
    print(
        f"parse only (read + ast.parse), median of {args.repeat}: {parse_med:.2f} s wall, "
        f"{parse_c:.2f} s CPU"
    )
    print(
        f"analyzer lint (end to end),    median of {args.repeat}: {lint_med:.2f} s wall, "
        f"{lint_c:.2f} s CPU"
    )
    print(
        f"ratio lint / parse: {lint_med / parse_med:.2f}x wall, {lint_c / parse_c:.2f}x CPU; "
        "target: under 5 s wall for 1,000 files"
    )
    if args.cache:
        w, wc = statistics.median(warm_s), statistics.median(warm_cpu)
        print(
            f"analyzer lint --cache, warm (same report), median of {args.repeat}: {w:.2f} s wall, "
            f"{wc:.2f} s CPU; {w / parse_med:.2f}x parse wall"
        )
    print("load average after: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    ok = summary["files"] == args.files and (args.files != 1000 or lint_med < 5.0)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
