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
_TIME_KEYS = ("timestamp", "listed_at", "created_at", "as_of")


def sniff(head: str) -> bool:
    """A ``runners`` list whose entries have a ``runner_id``."""
    return '"runners"' in head and '"runner_id"' in head


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map every runner of every snapshot in the file."""
    for item in iter_json_values("".join(lines)):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, doc = item
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
    if isinstance(uptime, int | float) and not isinstance(uptime, bool) and uptime >= 0:
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
