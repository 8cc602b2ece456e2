"""The platform's logs: logs-history pages and log-drain NDJSON, mapped to native events.

- Logs history: pages ``{"items": [{timestamp, level, message, app, revision, labels:
  {fal_job_id, fal_request_id, fal_endpoint, ...}}], ...}`` (newest first; any order is fine).
- Log drain: one JSON object per line with ``timestamp, level, message`` and ``fal_job_id,
  fal_request_id, fal_endpoint, fal_app_name, ...`` at the top level.

``fal_job_id`` is the runner id, ``fal_request_id`` the request id. A timestamp without an
offset is UTC (``ts_naive``). A message that is itself JSON ``{"traceback": "..."}`` becomes
``handler.error`` with the exception type and message parsed from it and the status the SDK
would answer (503 for a GPU-looking message, else 500; replaced by the status of the
matching request-listing row when both are imported, see :func:`fill_statuses`). A traceback
on the ``<endpoint>/cancel`` route becomes ``cancel.received`` with outcome ``no_task`` ("No
task to cancel") or ``error``. Every other line is a ``log`` event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    Row,
    as_str,
    compact,
    iter_timestamped,
    make_row,
)
from analyzer.importers.formats.tracebacks import parse_traceback, sdk_status, traceback_text

NAME = "fal_logs"
_TOP = {"timestamp", "level", "message", "app", "labels"}
_LABELS = {"fal_job_id", "fal_request_id", "fal_endpoint", "fal_app_name"}


def sniff(head: str) -> bool:
    """Log records: a timestamp and a message, with fal labels or fields."""
    return (
        '"timestamp"' in head
        and '"message"' in head
        and (
            '"labels"' in head
            or '"fal_job_id"' in head
            or '"fal_request_id"' in head
            or '"fal_app_name"' in head
        )
    )


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map every log record; records without a valid timestamp are rejected."""
    for item in iter_timestamped(lines, ("items", "logs"), "timestamp"):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, record, ts, naive = item
        yield from _map_record(record, line_no, ts, naive)


def _map_record(record: dict[str, Any], line_no: int, ts: Any, naive: bool) -> list[Row]:
    labels = record.get("labels") if isinstance(record.get("labels"), dict) else {}
    assert isinstance(labels, dict)

    def field(name: str) -> str | None:
        return as_str(labels.get(name)) or as_str(record.get(name))

    runner_id = field("fal_job_id")
    request_id = field("fal_request_id")
    endpoint = field("fal_endpoint")
    app = as_str(record.get("app")) or field("fal_app_name")
    level = as_str(record.get("level"))
    level = level.lower() if level else None
    message = record.get("message")
    message = (
        message if isinstance(message, str) else (None if message is None else compact(message))
    )
    extra: dict[str, Any] = {k: v for k, v in record.items() if k not in _TOP and k not in _LABELS}
    extra.update({k: v for k, v in labels.items() if k not in _LABELS})
    common: dict[str, Any] = {
        "line_no": line_no,
        "ts_raw": str(record["timestamp"]),
        "ts_naive": naive,
        "runner_id": runner_id,
        "request_id": request_id,
        "app": app,
        "level": level,
    }
    text = traceback_text(message)
    parsed = parse_traceback(text) if text else None
    if parsed is not None and request_id is not None:
        extra["traceback"] = parsed.text
        if endpoint and endpoint.rstrip("/").endswith("/cancel"):
            outcome = "no_task" if "no task to cancel" in parsed.message.lower() else "error"
            return [
                make_row(
                    ts,
                    "runner",
                    "cancel.received",
                    outcome=outcome,
                    endpoint=endpoint.rstrip("/")[: -len("/cancel")] or None,
                    exc_type=parsed.exc_type,
                    message=parsed.message,
                    extra=extra,
                    **common,
                )
            ]
        extra["status_from"] = "sdk_mapping"
        error = make_row(
            ts,
            "runner",
            "handler.error",
            endpoint=endpoint,
            exc_type=parsed.exc_type,
            message=parsed.message,
            status=sdk_status(parsed.exc_type, parsed.message),
            extra=extra,
            **common,
        )
        return [*_timed_out_upstream(parsed.exc_type, ts, endpoint, common), error]
    if parsed is not None:
        extra["traceback"] = parsed.text
        return [
            make_row(
                ts,
                "runner",
                "log",
                endpoint=endpoint,
                exc_type=parsed.exc_type,
                message=parsed.message,
                extra=extra,
                **common,
            )
        ]
    return [
        make_row(ts, "runner", "log", endpoint=endpoint, message=message, extra=extra, **common)
    ]


_TIMEOUT_TYPE = re.compile(r"Timeout", re.IGNORECASE)


def _timed_out_upstream(
    exc_type: str, ts: Any, endpoint: str | None, common: dict[str, Any]
) -> list[Row]:
    """A handler that died of a timeout exception (``TimeoutError``, ``httpx.ReadTimeout``,
    ...) was waiting on upstream work that timed out: that child work, which the logs do not
    show by itself, is inferred (started and timed out at the traceback's time)."""
    if not _TIMEOUT_TYPE.search(exc_type):
        return []
    child = {
        "child_id": f"{common['request_id']}:{common['runner_id']}:{common['line_no']}",
        "kind": "upstream",
        "name": exc_type,
        "endpoint": endpoint,
        "inferred": True,
        **common,
    }
    return [
        make_row(ts, "runner", "child.started", **child),
        make_row(ts, "runner", "child.finished", outcome="timeout", **child),
    ]


FORMAT = Format(
    name=NAME,
    description="the platform's logs: logs-history pages or log-drain NDJSON",
    sniff=sniff,
    parse=parse,
)
