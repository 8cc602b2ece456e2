"""A runner listing (``fal runners list --json``), mapped to native events.

Input: ``{"runners": [{runner_id, alias, machine_type, state, in_flight_requests,
uptime_seconds, revision, replacement, ...}]}``, one document per snapshot (several
snapshots may follow one another, one per line). A listing is a snapshot without a clock:
its time is the document's ``timestamp``/``listed_at``/``created_at`` field when present,
else the file's modification time (recorded in ``extra.snapshot_time_from``).

Per runner: ``runner.started`` (inferred) at snapshot time minus ``uptime_seconds``, with its
machine type and app (``alias``); and a ``log`` line at snapshot time with its state and
in-flight requests. A listing cannot show terminations, requests or errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    TimestampError,
    as_str,
    compact,
    iter_json_values,
    make_row,
    parse_ts,
)

NAME = "fal_runners"
MAX_UPTIME_S = 10 * 365 * 86400.0  # ten years: anything longer is not an uptime
_TIME_KEYS = ("timestamp", "listed_at", "created_at", "as_of")


def sniff(head: str) -> bool:
    """A ``runners`` list whose entries have a ``runner_id`` (the CLI), or REST listing items
    with ``runner_id`` and ``started_at`` / ``application``."""
    if '"runner_id"' not in head:
        return False
    return '"runners"' in head or ('"started_at"' in head and '"request_id"' not in head)


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map every runner of every snapshot (CLI) or page (REST listing) in the file."""
    for item in iter_json_values("".join(lines)):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, doc = item
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            for runner in doc["items"]:
                yield from _map_rest(runner, line_no)
            continue
        if isinstance(doc, list):
            for runner in doc:
                yield from _map_rest(runner, line_no)
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("runners"), list):
            yield Rejected(line_no, compact(doc), 'not a runner listing ({"runners": [...]})')
            continue
        try:
            snapshot, raw, source = _snapshot_time(doc, ctx)
        except TimestampError as exc:
            yield Rejected(line_no, compact(doc), str(exc))
            continue
        for runner in doc["runners"]:
            yield from _map_runner(runner, line_no, snapshot, raw, source)


_ENDED_STATES = {"terminated", "dead", "failed", "failure", "stopped", "finished"}


def _map_rest(runner: Any, line_no: int) -> Iterator[Item]:
    """One runner of the REST listing: ``runner.started`` at ``started_at``; for a runner in an
    ended state (``terminated``, ``dead``, ``failed``...), ``runner.stopped`` at
    ``finished_at`` with the state as its reason (inferred: the listing does not say why)."""
    if not isinstance(runner, dict) or as_str(runner.get("runner_id")) is None:
        yield Rejected(line_no, compact(runner), "runner without runner_id")
        return
    try:
        started = parse_ts(runner["started_at"]) if runner.get("started_at") else None
        finished = parse_ts(runner["finished_at"]) if runner.get("finished_at") else None
    except TimestampError as exc:
        yield Rejected(line_no, compact(runner), str(exc))
        return
    state = (as_str(runner.get("state")) or "").lower() or None
    keep = ("runner_id", "application", "alias", "machine_type", "started_at", "finished_at")
    common: dict[str, Any] = {
        "line_no": line_no,
        "runner_id": as_str(runner.get("runner_id")),
        "app": as_str(runner.get("application")) or as_str(runner.get("alias")),
        "machine_type": as_str(runner.get("machine_type")),
        "extra": {k: v for k, v in runner.items() if k not in keep} or None,
    }
    if started is None and finished is None:
        yield Rejected(line_no, compact(runner), "runner without started_at or finished_at")
        return
    if started is not None:
        yield make_row(
            started[0],
            "runner",
            "runner.started",
            ts_raw=str(runner["started_at"]),
            ts_naive=started[1],
            **common,
        )
    if finished is not None and state in _ENDED_STATES:
        yield make_row(
            finished[0],
            "runner",
            "runner.stopped",
            ts_raw=str(runner["finished_at"]),
            ts_naive=finished[1],
            reason=state,
            inferred=True,
            **common,
        )
    elif finished is None or state is not None:
        when = finished or started
        assert when is not None
        yield make_row(
            when[0],
            "runner",
            "log",
            level="info",
            message=f"runner listing: state {state or 'unknown'}",
            **common,
        )


def _snapshot_time(doc: dict[str, Any], ctx: ParseContext) -> tuple[datetime, str, str]:
    for key in _TIME_KEYS:
        if doc.get(key) not in (None, ""):
            ts, _ = parse_ts(doc[key])
            return ts, str(doc[key]), key
    when = ctx.mtime or datetime.fromtimestamp(ctx.path.stat().st_mtime, tz=UTC)
    return when, when.isoformat(), "file_mtime"


def _map_runner(
    runner: Any, line_no: int, snapshot: datetime, raw: str, source: str
) -> Iterator[Item]:
    if not isinstance(runner, dict) or as_str(runner.get("runner_id")) is None:
        yield Rejected(line_no, compact(runner), "runner without runner_id")
        return
    extra = {k: v for k, v in runner.items() if k not in ("runner_id", "alias", "machine_type")}
    extra["snapshot_time_from"] = source
    common: dict[str, Any] = {
        "line_no": line_no,
        "runner_id": as_str(runner.get("runner_id")),
        "app": as_str(runner.get("alias")),
        "machine_type": as_str(runner.get("machine_type")),
        "extra": extra,
    }
    uptime = runner.get("uptime_seconds")
    if (
        isinstance(uptime, int | float)
        and not isinstance(uptime, bool)
        and not (0 <= uptime <= MAX_UPTIME_S)
    ):
        yield Rejected(line_no, compact(runner), f"uptime_seconds out of range: {uptime!r}")
        return
    if isinstance(uptime, int | float) and not isinstance(uptime, bool):
        yield make_row(
            snapshot - timedelta(seconds=float(uptime)),
            "runner",
            "runner.started",
            inferred=True,
            **common,
        )
    state = as_str(runner.get("state")) or "UNKNOWN"
    in_flight = runner.get("in_flight_requests")
    yield make_row(
        snapshot,
        "runner",
        "log",
        ts_raw=raw,
        level="info",
        message=f"runner listing: state {state}, in-flight requests {in_flight}",
        **common,
    )


FORMAT = Format(
    name=NAME,
    description="a runner listing (fal runners list --json)",
    sniff=sniff,
    parse=parse,
)
