"""`analyzer timeline REQUEST_ID [--db FILE] [--format text|json] [--policy FILE]`.

Prints the rebuilt timeline of one request: aligned time, lane, event, detail. Replays first when
the replay tables are missing or older than the imported events. An unknown request id is a
one-line error (exit 2).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer import store
from analyzer.errors import AnalyzerError, InputNotFoundError
from analyzer.store import DEFAULT_DB, connect
from analyzer.textsafe import visible


class UnknownRequestError(AnalyzerError):
    """The request id is in no event of the database."""


_SUMMARY_COLS = (
    "app",
    "endpoint",
    "mode",
    "outcome",
    "final_status",
    "final_error_type",
    "attempts",
    "runners_killed",
    "duration_s",
    "gpu_seconds",
    "gpu_seconds_wasted",
    "partial",
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "timeline",
        help="the rebuilt timeline of one request",
        description="Print one request's timeline: gateway and runner events merged in causal "
        "order on the gateway's clock (runner clocks aligned).",
    )
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--db", default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--policy", metavar="FILE", help="platform policy file (TOML or JSON)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.replay import load_policy  # only for this command

    if args.db != ":memory:" and not Path(args.db).exists():
        raise InputNotFoundError(f"database not found: {args.db} (run `analyzer import` first)")
    policy = load_policy(args.policy) if args.policy else None
    con = _open_replayed(args.db, policy)
    try:
        cur = con.execute(
            f"SELECT {', '.join(_SUMMARY_COLS)} FROM requests WHERE request_id = ?",
            [args.request_id],
        )
        names = [d[0] for d in cur.description]
        found = cur.fetchall()
        if not found:
            raise UnknownRequestError(f"unknown request: {args.request_id}")
        summary = dict(zip(names, found[0], strict=True))
        cur = con.execute(
            # TIMESTAMPTZ -> naive UTC (the session time zone is UTC; no pytz needed)
            "SELECT seq, ts::TIMESTAMP AS ts, ts_raw::TIMESTAMP AS ts_raw, lane, lane_kind, attempt, runner_id, child_id, event, "
            "detail, event_id, inferred FROM timeline WHERE request_id = ? ORDER BY seq",
            [args.request_id],
        )
        cols = [d[0] for d in cur.description]
        steps = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    if args.format == "json":
        doc = {
            "request_id": args.request_id,
            "summary": {k: _jsonable(summary[k]) for k in _SUMMARY_COLS},
            "timeline": [{k: _jsonable(v) for k, v in s.items()} for s in steps],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(format_text(args.request_id, summary, steps))
    return 0


def _open_replayed(db: str, policy: Any) -> Any:
    """A READ-ONLY connection to ``db`` with its replay up to date (works while the dashboard
    holds the file); only a stale replay takes the write lock, for the moment it replays."""
    from analyzer.replay import ensure_replayed
    from analyzer.replay.build import is_stale

    if db == ":memory:":
        con = connect(db)
        ensure_replayed(con, policy)
        return con
    con = connect(db, read_only=True)
    if not store.table_exists(con, "events"):
        con.close()
        raise AnalyzerError(f"{db} is not an analyzer database (no events table)")
    if not is_stale(con):
        return con
    con.close()
    writer = connect(db)
    try:
        ensure_replayed(writer, policy)
    finally:
        writer.close()
    return connect(db, read_only=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    return value


def _one_line(detail: str | None, limit: int = 240) -> str:
    """Multi-line details (tracebacks) on one line, shortened, so the table stays aligned."""
    text = visible(" ".join((detail or "").split()))  # log text: no escape sequence obeyed
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_text(request_id: str, summary: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    """A readable, aligned table: time (UTC, gateway clock), +seconds, lane, event, detail."""
    head = (
        f"request {request_id}  {summary.get('app') or '?'}{summary.get('endpoint') or ''}"
        f"  mode={summary.get('mode') or '?'}  outcome={summary.get('outcome')}"
        f"  status={summary.get('final_status')}  attempts={summary.get('attempts')}"
        f"  runners_killed={summary.get('runners_killed')}"
    )
    if summary.get("partial"):
        head += "  (partial: its start is not in the imported window)"
    t0 = next((s["ts"] for s in steps if isinstance(s["ts"], datetime)), None)
    rows = []
    for s in steps:
        ts = s["ts"]  # None for a time no datetime can hold (analyzer.safe_times)
        known = isinstance(ts, datetime) and t0 is not None
        rel = f"+{(ts - t0).total_seconds():.3f}s" if known else "?"
        event = s["event"] + (" (inferred)" if s["inferred"] else "")
        rows.append(
            (
                ts.strftime("%H:%M:%S.%f")[:-3] if isinstance(ts, datetime) else "?",
                rel,
                visible(s["lane"]),
                visible(event),
                _one_line(s["detail"]),
            )
        )
    header = ("time (UTC)", "elapsed", "lane", "event", "detail")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [visible(head), ""]
    for r in [header, *rows]:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return "\n".join(line.rstrip() for line in lines)
