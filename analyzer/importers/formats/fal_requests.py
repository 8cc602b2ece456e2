"""The platform's request listing by endpoint (Platform API), mapped to native events.

Input: pages ``{"items": [...], "next_cursor": ..., "has_more": ...}`` (one per line or
pretty-printed, several pages one after the other), a bare array, or JSON lines of items.
Item: ``request_id, endpoint_id, runner_id, sent_at, started_at, ended_at, status_code,
duration`` and optionally ``json_input, json_output, billable_units``.

A request retried on other runners appears on several rows with the same ``request_id``;
rows ordered by ``sent_at`` (then ``started_at``) are its attempts 1, 2, ... Per request:

- ``request.received`` at the first ``sent_at`` (inferred: the listing has no such line);
- per row: ``attempt.dispatched`` and ``handler.started`` at ``started_at``;
  ``attempt.finished`` with ``status_code`` at ``ended_at``; ``handler.finished`` at
  ``ended_at`` for answers below 400 and ``handler.cancelled`` for 499 (inferred); a 4xx or
  5xx leaves the handler's end (and its exception) to the logs' traceback;
- ``request.completed`` with the last row's status, when that row has ended (inferred). After
  a status the queue retries, below the policy's attempt cap, a retry may still be queued (the
  listing cannot tell): the replay, which knows the policy (a user's policy file included),
  then does not take this completion as the request's end.

No ``runner.terminated`` is synthesised after a 503: the app events log terminations, and
the replay infers one when the runner falls silent after the answer (``termination_inferred``),
which also keeps a runner that went on serving visible as a policy deviation.

The listing carries no attempt number, no error_type (unless ``json_output`` has one), no
headers (``X-Fal-Needs-Retry``, ``x-fal-stop-runner``), no deadline and no cancels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    Row,
    TimestampError,
    as_str,
    compact,
    head_json_keys,
    iter_records,
    make_row,
    parse_ts,
)

NAME = "fal_requests"
_MAPPED = {
    "request_id",
    "endpoint_id",
    "runner_id",
    "sent_at",
    "started_at",
    "ended_at",
    "status_code",
    "json_input",
}


def sniff(head: str) -> bool:
    """Items with a request id, a ``sent_at`` and a ``status_code``/``endpoint_id``."""
    return head_json_keys(head, "request_id", "sent_at") and (
        '"status_code"' in head or '"endpoint_id"' in head
    )


def split_endpoint_id(endpoint_id: str | None) -> tuple[str | None, str | None]:
    """``owner/app/path...`` -> (``owner/app``, ``/path...``); the path may be absent."""
    if not endpoint_id:
        return None, None
    parts = endpoint_id.strip("/").split("/")
    app = "/".join(parts[:2])
    rest = "/".join(parts[2:])
    return app, ("/" + rest if rest else None)


def _ts(row: dict[str, Any], key: str) -> tuple[datetime, str, bool] | None:
    value = row.get(key)
    if value in (None, ""):
        return None
    ts, naive = parse_ts(value)
    return ts, str(value), naive


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map a request listing; rows of one request are grouped across the whole file."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for item in iter_records(lines, ("items", "requests")):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, record = item
        if not isinstance(record, dict):
            yield Rejected(line_no, compact(record), "not an object")
            continue
        request_id = as_str(record.get("request_id"))
        if request_id is None:
            yield Rejected(line_no, compact(record), "missing request_id")
            continue
        try:
            if _ts(record, "sent_at") is None and _ts(record, "started_at") is None:
                yield Rejected(line_no, compact(record), "missing sent_at")
                continue
            for key in ("ended_at",):
                _ts(record, key)
        except TimestampError as exc:
            yield Rejected(line_no, compact(record), str(exc))
            continue
        groups[request_id].append((line_no, record))
    for request_id, rows in groups.items():
        yield from _map_request(request_id, rows)


def _sort_key(entry: tuple[int, dict[str, Any]]) -> tuple[datetime, datetime, int]:
    line_no, record = entry
    sent = _ts(record, "sent_at") or _ts(record, "started_at")
    started = _ts(record, "started_at") or sent
    assert sent is not None and started is not None
    return sent[0], started[0], line_no


def _map_request(request_id: str, rows: list[tuple[int, dict[str, Any]]]) -> Iterator[Row]:
    rows = sorted(rows, key=_sort_key)
    first_line, first = rows[0]
    app, endpoint = split_endpoint_id(as_str(first.get("endpoint_id")))
    common: dict[str, Any] = {"request_id": request_id, "app": app, "endpoint": endpoint}
    sent = _ts(first, "sent_at") or _ts(first, "started_at")
    assert sent is not None
    yield make_row(
        sent[0],
        "gateway",
        "request.received",
        line_no=first_line,
        ts_raw=sent[1],
        ts_naive=sent[2],
        inferred=True,
        mode="queue",
        **common,
    )
    last_end: tuple[int, dict[str, Any], tuple[datetime, str, bool]] | None = None
    for attempt, (line_no, record) in enumerate(rows, start=1):
        runner_id = as_str(record.get("runner_id"))
        status = _int(record.get("status_code"))
        started = _ts(record, "started_at")
        ended = _ts(record, "ended_at")
        if ended is None and started is not None and _num(record.get("duration")) is not None:
            end_time = started[0] + timedelta(seconds=float(record["duration"]))
            ended = (end_time, end_time.isoformat(), False)
        base: dict[str, Any] = dict(common, line_no=line_no, runner_id=runner_id, attempt=attempt)
        extra = {k: v for k, v in record.items() if k not in _MAPPED} or None
        if runner_id is not None and started is not None:
            yield make_row(
                started[0],
                "gateway",
                "attempt.dispatched",
                ts_raw=started[1],
                ts_naive=started[2],
                **base,
            )
            yield make_row(
                started[0],
                "runner",
                "handler.started",
                ts_raw=started[1],
                ts_naive=started[2],
                inferred=True,
                **base,
            )
        if ended is None or status is None:
            last_end = None
            continue
        last_end = (line_no, record, ended)
        stamp: dict[str, Any] = {"ts_raw": ended[1], "ts_naive": ended[2]}
        yield make_row(
            ended[0],
            "gateway",
            "attempt.finished",
            status=status,
            error_type=_error_type(record),
            extra=extra,
            **stamp,
            **base,
        )
        if runner_id is not None and started is not None:
            if status == 499:
                yield make_row(
                    ended[0], "runner", "handler.cancelled", inferred=True, **stamp, **base
                )
            elif status < 400:
                yield make_row(
                    ended[0],
                    "runner",
                    "handler.finished",
                    status=status,
                    inferred=True,
                    **stamp,
                    **base,
                )
    if last_end is not None:
        line_no, record, ended = last_end
        yield make_row(
            ended[0],
            "gateway",
            "request.completed",
            line_no=line_no,
            ts_raw=ended[1],
            ts_naive=ended[2],
            status=_int(record.get("status_code")),
            error_type=_error_type(record),
            inferred=True,
            **common,
        )


def _error_type(record: dict[str, Any]) -> str | None:
    output = record.get("json_output")
    if isinstance(output, dict):
        return as_str(output.get("error_type"))
    return as_str(record.get("error_type"))


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


FORMAT = Format(
    name=NAME,
    description="the platform's request listing by endpoint (pages of items, or JSON lines)",
    sniff=sniff,
    parse=parse,
)
