"""An independent, plain-Python reading of simulated logs by the semantics' firing conditions.

Used by the tests to check that the simulator's ground truth is exact: every rule condition of
``docs/ground-truth.md`` evaluated directly on the written files (runner clocks aligned by
the causal pairs dispatch -> handler.started), compared with ``_ground_truth.jsonl``. It also
reports *margins*: healthy values that come close to a threshold (a clock-skew or rounding
error away from firing), which the simulator must avoid.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

GPU_EXC = re.compile(r"OutOfMemory|^(torch\.)?cuda\.|CUDA\w*(Error|Exception)|GPU\w*Error", re.I)
GPU_MSG = re.compile(
    r"out of memory|CUDA error|CUDA driver|cuDNN error|NCCL error|device-side assert|"
    r"illegal memory access|corrupted",
    re.I,
)
RATE_EXC = re.compile(r"RateLimit|TooManyRequests|Quota", re.I)
RATE_MSG = re.compile(r"rate.?limit|\b429\b|too many requests|quota", re.I)
TIMEOUT_EXC = re.compile(r"Timeout|TimedOut", re.I)
BAD_EXC = re.compile(r"ValidationError|^(ValueError|KeyError|TypeError)$|FieldException", re.I)
BAD_MSG = re.compile(r"invalid|missing field|must be|validation", re.I)


def classify(exc: str | None, msg: str | None) -> str:
    exc, msg = exc or "", msg or ""
    if GPU_EXC.search(exc) or GPU_MSG.search(msg):
        return "gpu_fault"
    if RATE_EXC.search(exc) or RATE_MSG.search(msg):
        return "rate_limit"
    if TIMEOUT_EXC.search(exc):
        return "upstream_timeout"
    if BAD_EXC.search(exc) or BAD_MSG.search(msg):
        return "bad_input"
    return "ordinary"


def to_s(ts: Any) -> float:
    if isinstance(ts, int | float):
        return float(ts)
    return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()


def read_dir(d: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted(d.iterdir()):
        if p.name.startswith(("_", ".")) or not p.name.endswith((".jsonl", ".jsonl.gz")):
            continue
        opener: Any = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    e = json.loads(line)
                    e["_t"] = to_s(e["ts"])
                    out.append(e)
    return out


@dataclass
class Att:
    n: int
    runner: str
    dispatched: float
    answered: float | None = None
    status: int | None = None
    failure: str | None = None
    needs_retry: bool | None = None
    stop_runner: bool | None = None
    runner_events: list[dict[str, Any]] = field(default_factory=list)

    def first(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.runner_events if e["event"] == name), None)

    @property
    def handler_end(self) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in self.runner_events
                if e["event"] in ("handler.finished", "handler.error", "handler.cancelled")
            ),
            None,
        )


@dataclass
class Req:
    id: str
    app: str
    g: list[dict[str, Any]] = field(default_factory=list)
    atts: dict[int, Att] = field(default_factory=dict)


def analyse(d: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """Findings as (code, request_id or app) and a list of margin warnings."""
    events = read_dir(d)
    gw = [e for e in events if e["source"] == "gateway"]
    rn = [e for e in events if e["source"] == "runner"]
    reqs: dict[str, Req] = {}
    term: dict[str, dict[str, Any]] = {}
    for e in gw:
        if e["event"] == "runner.terminated":
            term[e["runner_id"]] = e
        rid = e.get("request_id")
        if rid is None or e["event"] == "runner.terminated":
            continue
        r = reqs.setdefault(rid, Req(rid, e["app"]))
        r.g.append(e)
        if e["event"] == "attempt.dispatched":
            r.atts[e["attempt"]] = Att(e["attempt"], e["runner_id"], e["_t"])
        elif e["event"] in ("attempt.finished", "attempt.failed"):
            a = r.atts[e["attempt"]]
            a.answered, a.status, a.failure = e["_t"], e.get("status"), e.get("error_type")
            if e["event"] == "attempt.finished":
                a.failure = None
            a.needs_retry, a.stop_runner = e.get("needs_retry"), e.get("stop_runner")
    # clock offsets per runner from dispatch -> handler.started pairs
    samples: dict[str, list[float]] = defaultdict(list)
    by_rq: dict[tuple[str, str], list[Att]] = defaultdict(list)
    for r in reqs.values():
        for a in r.atts.values():
            by_rq[(r.id, a.runner)].append(a)
    starts = [e for e in rn if e["event"] == "handler.started"]
    for e in starts:
        cands = by_rq.get((e["request_id"], e["runner_id"]), [])
        if cands:
            best = min(cands, key=lambda a: abs(e["_t"] - a.dispatched))
            samples[e["runner_id"]].append(e["_t"] - best.dispatched - 0.016)
    offset = {k: statistics.median(v) for k, v in samples.items()}
    for e in rn:
        e["_a"] = e["_t"] - offset.get(e.get("runner_id", ""), 0.0)
    segs: dict[tuple[str, str], list[list[dict[str, Any]]]] = defaultdict(list)
    for e in rn:  # files are in logger order: split each (request, runner) at handler.started
        rid = e.get("request_id")
        if rid is None or rid not in reqs:
            continue
        key = (rid, e["runner_id"])
        if e["event"] == "handler.started" or not segs[key]:
            segs[key].append([])
        segs[key][-1].append(e)
    for key, parts in segs.items():
        for a, part in zip(sorted(by_rq.get(key, []), key=lambda a: a.n), parts, strict=False):
            a.runner_events = part

    found: set[tuple[str, str]] = set()
    warn: list[str] = []

    dispatch_times: dict[str, list[float]] = defaultdict(list)
    for r in reqs.values():
        for a in r.atts.values():
            dispatch_times[a.runner].append(a.dispatched)

    def served_after(a: Att) -> set[str]:
        later = [t for t in dispatch_times[a.runner] if t > (a.answered or a.dispatched)]
        return {a.runner} if later else set()

    def terminated_by(a: Att, rid: str) -> bool:
        t = term.get(a.runner)
        return t is not None and (t.get("request_id") == rid or a.failure is not None)

    for r in reqs.values():
        ev = {e["event"]: e for e in r.g}
        recv = ev.get("request.received", {})
        deadline = recv.get("deadline_s")
        received = recv.get("_t")
        completed = ev.get("request.completed")
        atts = [r.atts[k] for k in sorted(r.atts)]
        for a in atts:
            he = a.first("handler.error")
            cls = classify(he.get("exc_type"), he.get("message")) if he else None
            st = a.status
            if st == 503 and he and cls != "gpu_fault" and (a.stop_runner is not False):
                found.add(("S001", r.id))
            if st in (500, 502, 504) and cls == "bad_input":
                found.add(("S002", r.id))
            if st is not None and st >= 500 and cls == "rate_limit":
                found.add(("S003", r.id))
            if st is not None and 400 <= st < 500 and cls == "gpu_fault":
                found.add(("S004", r.id))
            if st == 504:
                kids = [e for e in a.runner_events if e["event"] == "child.finished"]
                if not any(k.get("outcome") == "timeout" for k in kids):
                    found.add(("S005", r.id))
            if (
                a.needs_retry is True
                and st is not None
                and 400 <= st < 500
                and st not in (408, 429)
            ):
                found.add(("S006", r.id))
            if deadline is not None and received is not None and a.dispatched > received + deadline:
                found.add(("R002", r.id))
            # L002: a 503 (stop_runner not false) whose runner kept serving and was never killed
            t = term.get(a.runner)
            if (
                st == 503
                and a.stop_runner is not False
                and (t is None or t.get("request_id") != r.id)
            ) and a.runner in served_after(a):
                found.add(("L002", r.id))
            # L002: a retry the policy forbids (500/502/4xx without needs_retry)
            if st in (500, 502) and a.needs_retry is not True and (a.n + 1) in r.atts:
                found.add(("L002", r.id))
        late = completed is not None and completed["_t"] > (received or 0) + (deadline or 0)
        if deadline is not None and completed and 200 <= completed["status"] < 300 and late:
            found.add(("R002", r.id))
        sigs: dict[str, set[str]] = defaultdict(set)
        timeouts = 0
        for a in atts:
            if not terminated_by(a, r.id):
                continue
            he = a.first("handler.error")
            sig = a.failure or f"{a.status}:{he.get('exc_type') if he else ''}"
            sigs[sig].add(a.runner)
            if a.failure == "request_timeout":
                timeouts += 1
        if any(len(v) >= 3 for v in sigs.values()):
            found.add(("R001", r.id))
        if timeouts >= 2:
            found.add(("R003", r.id))
        if completed and not 200 <= completed["status"] < 300 and len(atts) >= 10:
            found.add(("R004", r.id))
        # cancellation family
        cancel = ev.get("request.cancel_requested")
        disc = ev.get("request.client_disconnected")
        fwd = {e["attempt"] for e in r.g if e["event"] == "request.cancel_forwarded"}
        for a in atts:
            end = a.handler_end
            end_t = end["_a"] if end else None
            if (
                cancel
                and a.dispatched <= cancel["_t"]
                and (a.answered is None or cancel["_t"] < a.answered)
            ):
                tc = cancel["_t"]
                if a.n not in fwd and (end_t is None or end_t > tc + 1.0):
                    found.add(("C001", r.id))
                cr = a.first("cancel.received")
                if cr is not None and (
                    cr["outcome"] != "cancelled" or (end and end["event"] != "handler.cancelled")
                ):
                    found.add(("C002", r.id))
                if end and end["event"] == "handler.cancelled":
                    p = end_t - tc  # type: ignore[operator]
                    if p > 5.0:
                        found.add(("C004", r.id))
                    elif p > 1.5:
                        warn.append(f"{r.id}: cancel propagation {p:.2f}s near the 5 s threshold")
            ran_on = end and end["event"] != "handler.cancelled" and end_t is not None
            if disc and a.dispatched <= disc["_t"] and ran_on and end_t > disc["_t"]:  # type: ignore[operator]
                found.add(("C005", r.id))
            if end_t is not None:
                ended = {
                    e["child_id"]: e["_a"]
                    for e in a.runner_events
                    if e["event"] in ("child.finished", "child.cancelled")
                }
                for e in a.runner_events:
                    if e["event"] != "child.started":
                        continue
                    after = ended.get(e["child_id"], float("inf")) - end_t
                    if after > 1.0:
                        found.add(("C003", r.id))
                    elif after > 0.3:
                        warn.append(f"{r.id}: child ran {after:.2f}s after its handler")
            else:
                kids = {e["child_id"] for e in a.runner_events if e["event"] == "child.started"}
                if kids:
                    warn.append(f"{r.id}: children on an attempt whose handler never ended")
            if (cancel or disc) and (end is None or end["event"] == "handler.cancelled" or cancel):
                acq = {
                    e["resource_id"] for e in a.runner_events if e["event"] == "resource.acquired"
                }
                rel = {
                    e["resource_id"] for e in a.runner_events if e["event"] == "resource.released"
                }
                if acq - rel and (cancel or disc):
                    found.add(("C006", r.id))
            if deadline is not None and received is not None:
                for e in a.runner_events:
                    if e["event"] == "child.started" and e.get("deadline_s") is not None:
                        budget = deadline - (e["_a"] - received)
                        if e["deadline_s"] > budget:
                            found.add(("C007", r.id))
                        elif e["deadline_s"] > 0.8 * budget:
                            warn.append(
                                f"{r.id}: child deadline {e['deadline_s']} near budget {budget:.1f}"
                            )
    # L001: >= 3 setup failures / startup timeouts of one app within 10 minutes
    fails: dict[str, list[float]] = defaultdict(list)
    for t in term.values():
        if t.get("reason") in ("setup_failed", "startup_timeout"):
            fails[t["app"]].append(t["_t"])
    for app, ts in fails.items():
        ts.sort()
        if any(ts[i + 2] - ts[i] <= 600 for i in range(len(ts) - 2)):
            found.add(("L001", app))
    return found, warn


def truth_keys(d: Path) -> set[tuple[str, str]]:
    rows = [json.loads(x) for x in (d / "_ground_truth.jsonl").read_text().splitlines() if x]
    return {(r["code"], r["request_id"] if r["code"] != "L001" else r["app"]) for r in rows}
