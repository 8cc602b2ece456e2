"""The sharded analysis: plan, map (one shard per worker at a time), reduce.

``analyze_sharded(con, config, options)`` gives the same tables and findings as
:func:`analyzer.analysis.analyze` on the same database (docs/scale.md says what that rests on),
and returns the same :class:`~analyzer.analysis.AnalysisResult`, its summary extended with
``shards`` (per-shard timings) and ``sharding`` (the run's phases).

The one fact the replay takes from the whole database rather than from one app is the 429
behaviour when the policy leaves it to the logs (``retry_429 = "auto"``): each shard reports its
votes; a shard that has 429 answers and decided otherwise than the whole database is run again
with the policy's ``retry_429`` set to the database's answer.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import duckdb

from analyzer import summary as summary_relations
from analyzer.config import Config
from analyzer.shard.engines import run_local, run_ray
from analyzer.shard.merge import merge_outputs
from analyzer.shard.plan import Plan, Shard, plan_shards
from analyzer.shard.runner_facts import (
    SEEN_FILE,
    stale_views,
    whole_day_offsets,
    whole_day_runners,
)
from analyzer.shard.worker import ShardResult, ShardTask

if TYPE_CHECKING:
    from analyzer.analysis import AnalysisResult

Engine = Literal["local", "ray"]
DEFAULT_MAX_SHARD_EVENTS = 3_000_000
"""Above this many events an app is split by time (a shard of this size analyses in ~1 GB)."""


@dataclass(frozen=True)
class ShardOptions:
    workers: int = 2
    engine: Engine = "local"
    ray_address: str | None = None
    buckets: int | None = None
    """Hash buckets for the apps (default: 8 per worker, or more for a large database; few
    apps then rarely share a bucket)."""
    max_shard_events: int | None = DEFAULT_MAX_SHARD_EVENTS
    memory_limit: str = "1GB"
    """DuckDB's memory limit in each worker (it spills to disk beyond it)."""
    workdir: str | None = None
    """Where the Parquet shards and outputs live (default: a temporary folder, removed after).
    On a cluster: a folder every worker can read and write."""
    keep_workdir: bool = False


@contextmanager
def _limited(con: duckdb.DuckDBPyConnection, limit: str, spill: Path) -> Iterator[None]:
    """The coordinator's DuckDB memory limit while it plans and merges, with spilling and
    without insertion order (what lets a partitioned COPY of 10M events fit in 1 GB);
    restored afterwards, the connection may be the caller's. The spill folder is set only if
    the connection has not spilled yet (DuckDB cannot switch it after use)."""
    old = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    ).fetchall()[0]
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute("SET preserve_insertion_order = false")
    with suppress(duckdb.Error):  # already in use: the connection keeps spilling where it did
        con.execute("SET temp_directory = '" + str(spill).replace("'", "''") + "'")
    try:
        yield
    finally:
        con.execute("SET memory_limit = '" + str(old[0]).replace("'", "''") + "'")
        con.execute(f"SET preserve_insertion_order = {'true' if old[1] else 'false'}")


def _decide(votes: tuple[int, int]) -> str:
    yes, no = votes
    return "retried" if yes > no else "not_retried" if no > yes else "unknown"


class _Bar:
    """A progress bar over the shards on stderr (only drawn on a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.done = max(total, 1), 0
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            filled = int(30 * self.done / self.total)
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r[{'#' * filled}{'-' * (30 - filled)}] {self.done}/{self.total} shards "
                f"{elapsed:6.1f} s  {label[:40]:<40}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def analyze_sharded(
    con: duckdb.DuckDBPyConnection,
    config: Config | None = None,
    options: ShardOptions | None = None,
    *,
    load: bool = True,
) -> AnalysisResult:
    """Replay and check ``con``'s events in shards; writes the same tables as ``analyze``
    (``load=False``: the findings stay in the database, as ``analyze(load=False)``)."""
    from analyzer.analysis import AnalysisResult, policy_for, selected_rules, summarize
    from analyzer.rules.store import load_findings
    from analyzer.rules.stored import StoredFindings

    config = config or Config()
    options = options or ShardOptions()
    started = time.perf_counter()
    policy = policy_for(config)
    rules = selected_rules(config, policy)  # a configuration error before any work
    made = options.workdir is None
    root = Path(options.workdir or tempfile.mkdtemp(prefix="analyzer-shards-"))
    try:
        events = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        buckets = options.buckets or max(
            8 * options.workers, math.ceil(events / max(1, options.max_shard_events or events or 1))
        )
        with _limited(con, options.memory_limit, root / "spill"):
            plan = plan_shards(
                con, root, buckets=buckets, policy=policy, max_shard_events=options.max_shard_events
            )
            offsets = whole_day_offsets(con, root, policy) if plan.split else None
        planned = time.perf_counter()
        tasks = [
            ShardTask(
                root=str(root),
                shard=s,
                config=config,
                window_us=plan.window_us,
                memory_limit=options.memory_limit,
                threads=1 if options.workers > 1 else 2,
                max_attempts=policy.max_attempts,
                given_offsets=str(offsets) if offsets and s.is_slice else None,
            )
            for s in plan.shards
        ]
        results, runs = _map(tasks, options)
        if policy.retry_429 == "auto":
            results = _agree_on_429(tasks, results, runs, options, root, policy)
        whole_day: dict[str, str] = {}
        if offsets is not None:
            with _limited(con, options.memory_limit, root / "spill"):
                whole_day = _whole_day_runners(con, tasks, results, runs, options, root, policy)
            whole_day["clock_offsets"] = str(offsets)
        for stale in (root / "out").glob("*.tmp-*"):  # what killed workers left half-written
            shutil.rmtree(stale, ignore_errors=True)
        mapped = time.perf_counter()
        ordered = [results[s.index] for s in plan.shards]
        with _limited(con, options.memory_limit, root / "spill"):
            merge_outputs(
                con,
                ordered,
                meta=_first_meta(ordered, runs),
                allowed=sum(r.allowed for r in ordered),
                whole_day=whole_day,
            )
            summary_relations.build(con)  # the faces' aggregates, over the unioned tables
        merged = time.perf_counter()
    finally:
        if made and not options.keep_workdir:
            shutil.rmtree(root, ignore_errors=True)
    stored = StoredFindings(con, (sel.rule.code for sel in rules), summarised=True)
    findings = tuple(load_findings(con)) if load else ()
    summary = summarize(con, findings if load else stored)
    summary["shards"] = [_shard_summary(s, results[s.index], runs) for s in plan.shards]
    summary["sharding"] = {
        "engine": options.engine,
        "workers": options.workers,
        "shards": len(plan.shards),
        "plan_s": round(planned - started, 3),
        "map_s": round(mapped - planned, 3),
        "merge_s": round(merged - mapped, 3),
        "margin_s": round(plan.margin_s, 3),
        "unsplittable": list(plan.unsplittable),
        "split": list(plan.split),
        "max_shard_events": options.max_shard_events,
        "largest_shard_events": plan.largest,
        "reruns_runners": sorted(runs.reruns_runners),
    }
    return AnalysisResult(
        findings=findings,
        rules=tuple(rules),
        summary=summary,
        config=config,
        allowed=sum(r.allowed for r in ordered),
        seconds=time.perf_counter() - started,
        replayed=True,
        extra={"analysed": True, "shards": len(plan.shards)},
        stored=None if load else stored,
    )


@dataclass
class _Runs:
    attempts: dict[int, int]
    first_meta: dict[int, dict[str, str]]
    reruns_429: set[int]
    reruns_runners: set[int] = field(default_factory=set)


def _map(tasks: list[ShardTask], options: ShardOptions) -> tuple[dict[int, ShardResult], _Runs]:
    results: dict[int, ShardResult] = {}
    runs = _Runs(attempts={}, first_meta={}, reruns_429=set())
    bar = _Bar(len(tasks))
    names = {t.shard.index: t.shard for t in tasks}

    def done(result: ShardResult, attempt: int) -> None:
        results[result.index] = result
        runs.attempts[result.index] = attempt
        runs.first_meta.setdefault(result.index, result.meta)
        bar.step(f"{names[result.index].name} {names[result.index].describe()}")

    try:
        _run(tasks, options, done)
    finally:
        bar.close()
    return results, runs


def _run(tasks: list[ShardTask], options: ShardOptions, done: Any) -> None:
    if options.engine == "ray":
        run_ray(tasks, options.workers, options.ray_address, done)
    else:
        run_local(tasks, options.workers, done)


def _agree_on_429(
    tasks: list[ShardTask],
    results: dict[int, ShardResult],
    runs: _Runs,
    options: ShardOptions,
    root: Path,
    policy: Any,
) -> dict[int, ShardResult]:
    yes = sum(r.votes_429[0] for r in results.values())
    no = sum(r.votes_429[1] for r in results.values())
    overall = _decide((yes, no))
    if overall == "unknown":
        return results
    again = [
        t
        for t in tasks
        if results[t.shard.index].has_429 and _decide(results[t.shard.index].votes_429) != overall
    ]
    if not again:
        return results
    fixed = root / "policy-429.json"
    fixed.write_text(
        policy.model_copy(update={"retry_429": overall}).model_dump_json(), encoding="utf-8"
    )
    redo = [replace(t, config=t.config.model_copy(update={"policy": str(fixed)})) for t in again]
    runs.reruns_429.update(t.shard.index for t in redo)
    for t in redo:  # later rounds (runners' whole-day facts) keep the database's 429 answer
        tasks[[x.shard.index for x in tasks].index(t.shard.index)] = t
    _run(redo, options, lambda r, a: results.__setitem__(r.index, r))
    return results


def _whole_day_runners(
    con: duckdb.DuckDBPyConnection,
    tasks: list[ShardTask],
    results: dict[int, ShardResult],
    runs: _Runs,
    options: ShardOptions,
    root: Path,
    policy: Any,
) -> dict[str, str]:
    """``runners`` over the whole day (analyzer/shard/runner_facts.py), and a second round for
    the time slices whose view of a runner differed from it."""
    offsets = root / "clock_offsets.parquet"
    attempts = [str(Path(results[t.shard.index].out_dir) / "attempts.parquet") for t in tasks]
    runners = whole_day_runners(con, root, policy, attempts, offsets)
    seen = {
        t.shard.index: str(Path(results[t.shard.index].out_dir) / SEEN_FILE)
        for t in tasks
        if t.shard.is_slice
    }
    stale = set(stale_views(con, runners, seen))
    if stale:
        redo = [replace(t, given_runners=str(runners)) for t in tasks if t.shard.index in stale]
        runs.reruns_runners.update(stale)
        _run(redo, options, lambda r, a: results.__setitem__(r.index, r))
    return {"runners": str(runners)}


def _first_meta(ordered: list[ShardResult], runs: _Runs) -> dict[str, str]:
    """The analysis meta keys of a shard run under the check's own configuration."""
    for r in ordered:
        if r.index in runs.first_meta:
            return runs.first_meta[r.index]
    return ordered[0].meta


def _shard_summary(shard: Shard, result: ShardResult, runs: _Runs) -> dict[str, Any]:
    return {
        "shard": shard.name,
        "apps": list(shard.apps),
        "slice": f"{(shard.slice_no or 0) + 1}/{shard.slices}" if shard.is_slice else None,
        "events": shard.events,
        "findings": result.findings,
        "seconds": round(result.seconds, 3),
        "peak_rss_mib": round(result.peak_rss_mib, 1),
        "attempts": runs.attempts.get(shard.index, 1),
        "rerun_429": shard.index in runs.reruns_429,
    }


__all__ = ["Plan", "ShardOptions", "analyze_sharded"]
