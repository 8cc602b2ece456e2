"""The platform simulator: realistic gateway and runner logs with their ground truth.

``simulate(out_dir, scenarios, requests=..., seed=...)`` runs the discrete-event model of
:mod:`analyzer.simulate.engine` over healthy traffic (:mod:`analyzer.simulate.apps`) plus the
named scenarios (:mod:`analyzer.simulate.scenarios`) and writes

- ``gateway.jsonl`` (the gateway's log) and one ``runner-<owner>-<app>.jsonl`` per app (its
  runners' logs, each line on its runner's skewed clock), optionally gzipped and split by size;
- ``_ground_truth.jsonl``: every (code, subject) the rules should report (the leading ``_``
  keeps importers from reading it as a log).

Output is a pure function of the arguments: the same seed gives byte-identical files.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError
from analyzer.simulate.apps import APP_BY_NAME, APPS
from analyzer.simulate.engine import Engine
from analyzer.simulate.model import AppConfig, RequestSpec, SetupFailure
from analyzer.simulate.output import Sink, write_jsonl
from analyzer.simulate.scenarios import COMPOSITES, SCENARIOS, Context, describe, expand
from analyzer.simulate.traffic import healthy_arrivals

__all__ = [
    "DEFAULT_START",
    "SimulationResult",
    "describe",
    "list_scenarios",
    "run_scripted",
    "simulate",
]

DEFAULT_START = "2026-11-20T08:00:00Z"
TRUTH_FILE = "_ground_truth.jsonl"
REQUESTS_PER_REP = 5000  # scenarios are repeated once per this many requests
MIN_DURATION_S = 4 * 3600.0
RATE_PER_S = 12.0  # healthy load for big runs (1M requests ~ one day)


@dataclass
class SimulationResult:
    """What one run wrote."""

    files: list[Path]
    truth_path: Path
    truth: list[dict[str, Any]]
    requests: int
    attempts: int
    runners: int
    lines: int
    duration_s: float


def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every scenario and composite."""
    return [(n, describe(n)) for n in [*SCENARIOS, *COMPOSITES]]


def _prepare(out: Path) -> None:
    """Create ``out``; remove the files an earlier run wrote there (so no stale part or a
    ``.jsonl`` beside a ``.jsonl.gz`` gets imported twice). Other files are left alone."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for pattern in ("gateway*.jsonl*", "runner-*.jsonl*", TRUTH_FILE):
            for old in sorted(out.glob(pattern)):
                old.unlink()
    except OSError as exc:
        raise AnalyzerError(f"cannot write into {out}: {exc.strerror or exc}") from exc


def simulate(
    out: Path,
    scenarios: list[str] | None = None,
    *,
    requests: int = 2500,
    seed: int = 7,
    gz: bool = False,
    split_mb: float | None = None,
    start: str = DEFAULT_START,
) -> SimulationResult:
    """Run the simulation and write the logs and the ground truth into ``out``."""
    names = expand(scenarios or ["incident_day"])
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise AnalyzerError(f"unknown scenario {unknown[0]!r} (see analyzer simulate --list)")
    if requests < 0:
        raise AnalyzerError("--requests must be >= 0")
    try:
        t0 = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise AnalyzerError(f"invalid start time {start!r}") from exc
    _prepare(out)
    duration = max(MIN_DURATION_S, requests / RATE_PER_S)
    reps = max(1, requests // REQUESTS_PER_REP)

    scripted: list[tuple[float, RequestSpec]] = []
    setup_failures: list[SetupFailure] = []
    for rep in range(reps):
        for name in names:
            ctx = Context(random.Random(f"{seed}:{name}:{rep}"), duration, rep, reps, name=name)
            SCENARIOS[name](ctx)
            scripted.extend(ctx.requests)
            if rep == 0:  # app-level bursts once: repeated rollouts would starve the app
                setup_failures.extend(ctx.setup_failures)
    order = sorted(range(len(scripted)), key=lambda i: (scripted[i][0], i))
    scripted = [scripted[i] for i in order]
    setup_failures.sort(key=lambda s: s.start)

    n_healthy = max(0, requests - len(scripted))
    rng_h = random.Random(f"{seed}:healthy")
    healthy = healthy_arrivals(n_healthy, rng_h, 120.0, duration - 600.0, t0)
    arrivals = heapq.merge(healthy, iter(scripted), key=lambda x: x[0])

    # bigger runs are denser: let every app scale out in proportion (the sample is the base)
    load = (requests / duration) / (2500 / MIN_DURATION_S)
    apps = [replace(a, max_runners=math.ceil(a.max_runners * max(1.0, load))) for a in APPS]
    sink = Sink(out, t0, gz=gz, split_mb=split_mb)
    engine = Engine(apps, sink, random.Random(f"{seed}:engine"), setup_failures)
    engine.run(arrivals)
    files = sink.close()

    truth = list(engine.truth)
    seen_apps: set[str] = set()
    for sf in setup_failures:
        if sf.truth and sf.app not in seen_apps and sf.app in APP_BY_NAME:
            seen_apps.add(sf.app)
            truth.append(
                {
                    "code": "L001",
                    "request_id": None,
                    "runner_id": None,
                    "app": sf.app,
                    "scenario": sf.scenario,
                }
            )
    truth.sort(key=lambda r: (r["code"], r["app"], r["request_id"] or ""))
    truth_path = out / TRUTH_FILE
    write_jsonl(truth_path, truth)
    st = engine.stats
    return SimulationResult(
        files,
        truth_path,
        truth,
        st["requests"],
        st["attempts"],
        st["runners"],
        sum(sink.line_counts().values()),
        duration,
    )


def run_scripted(
    out: Path,
    requests: list[tuple[float, RequestSpec]],
    *,
    apps: list[AppConfig] | None = None,
    setup_failures: list[SetupFailure] | None = None,
    seed: int = 7,
    start: str = DEFAULT_START,
) -> list[dict[str, Any]]:
    """Run only the given scripted requests (no healthy traffic); returns the ground truth.

    For tests and experiments: e.g. one request on a one-app platform to check a policy row.
    """
    _prepare(out)
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    sink = Sink(out, t0)
    engine = Engine(apps or list(APPS), sink, random.Random(f"{seed}:engine"), setup_failures or [])
    engine.run(iter(sorted(requests, key=lambda x: x[0])))
    sink.close()
    write_jsonl(out / TRUTH_FILE, engine.truth)
    return engine.truth
