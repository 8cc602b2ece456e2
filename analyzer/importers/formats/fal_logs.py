"""The platform's logs: logs-history pages and log-drain NDJSON, mapped to native events.

- Logs history: pages ``{"items": [{timestamp, level, message, app, revision, labels:
  {fal_job_id, fal_request_id, fal_endpoint, ...}}], ...}`` (newest first; any order is fine).
- Log drain: one JSON object per line with ``timestamp, level, message`` and ``fal_job_id,
  fal_request_id, fal_endpoint, fal_app_name, ...`` at the top level.

``fal_job_id`` is the runner id, ``fal_request_id`` the request id. A timestamp without an
offset is UTC (``ts_naive``). The records are put in time order per runner and joined where a
real runner prints one event over several records (:mod:`.fal_lines`): the SDK's
``{"traceback": "..."}`` line with the access line of its answer and uvicorn's error block
become one ``handler.error`` (status from the access line, else the SDK's mapping for the
runner's SDK version, :mod:`.tracebacks`; replaced by the listing's status when both are
imported, :mod:`.link`), or one ``cancel.received`` on ``<endpoint>/cancel`` (outcome
``no_task`` / ``already_done`` / ``error``; a 200 access line there is ``cancelled``). Other
access lines are ``log`` rows with their status and path; everything else is a ``log`` row.
A row without a request id (the SDK clears it before printing a failed request's lines) is
marked ``extra.unlabelled`` and attributed later by runner and time (:mod:`.fal_attribution`).
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
from analyzer.importers.formats.fal_lines import Group, Record, classify, in_order, join
from analyzer.importers.formats.tracebacks import ParsedTraceback, sdk_mapping, sdk_version

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
    """Map every log record; records without a valid timestamp are rejected.

    The records are read whole, put in time order per runner and joined where several are one
    event (:mod:`.fal_lines`); each group becomes one row that lists the records it holds.
    """
    records: list[Record] = []
    for item in iter_timestamped(lines, ("items", "logs"), "timestamp"):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, record, ts, naive = item
        labels = _labels(record)
        message = record.get("message")
        text = message if isinstance(message, str) else "" if message is None else compact(message)
        runner = as_str(labels.get("fal_job_id")) or as_str(record.get("fal_job_id"))
        records.append(classify(Record(line_no, ts, naive, record, runner, text)))
    versions = _sdk_versions(records)
    for group in join(in_order(records)):
        for row in _map_group(group, versions.get(group.lead.runner_id)):
            extra = row["extra"] or {}
            if row["request_id"] is None:  # attributed (or not) by runner and time later
                extra.update(unlabelled=True, kind=row["event"])
            else:
                extra["attribution"] = "labelled"
            row["extra"] = extra
            yield row


def _labels(record: dict[str, Any]) -> dict[str, Any]:
    labels = record.get("labels")
    return labels if isinstance(labels, dict) else {}


def _sdk_versions(records: list[Record]) -> dict[str | None, str]:
    """Each runner's SDK version, from its start-up package line."""
    out: dict[str | None, str] = {}
    for rec in records:
        if rec.kind == "line" and rec.message.startswith("[debug]"):
            version = sdk_version(rec.message)
            if version:
                out[rec.runner_id] = version
    return out


def _map_group(group: Group, version: str | None) -> list[Row]:
    lead = group.lead
    record = lead.record
    labels = _labels(record)

    def field(name: str) -> str | None:
        return as_str(labels.get(name)) or as_str(record.get(name))

    request_id = field("fal_request_id")
    endpoint = field("fal_endpoint")
    level = as_str(record.get("level"))
    extra: dict[str, Any] = {k: v for k, v in record.items() if k not in _TOP and k not in _LABELS}
    extra.update({k: v for k, v in labels.items() if k not in _LABELS})
    if len(group.records) > 1:
        extra["joined_lines"] = group.line_nos
    common: dict[str, Any] = {
        "line_no": lead.line_no,
        "ts_raw": str(record["timestamp"]),
        "ts_naive": lead.naive,
        "runner_id": lead.runner_id,
        "request_id": request_id,
        "app": as_str(record.get("app")) or field("fal_app_name"),
        "level": level.lower() if level else None,
    }
    access = group.access
    path = access["path"] if access else None
    route = endpoint or path
    is_cancel = bool(route and route.rstrip("/").endswith("/cancel"))
    if access:
        extra["access"] = access
    parsed = group.parsed
    if group.kind == "traceback" and parsed is not None:
        extra["traceback"] = parsed.text
        if is_cancel:
            outcome = _cancel_outcome(parsed.message)
            return [_cancel(lead, outcome, route, parsed, extra, common)]
        status = access["status"] if access else sdk_mapping(version).status(parsed.message)
        extra["status_from"] = "access_line" if access else "sdk_mapping"
        if version:
            extra["sdk_version"] = version
        error = make_row(
            lead.ts,
            "runner",
            "handler.error",
            endpoint=route,
            exc_type=parsed.exc_type,
            message=parsed.message,
            status=status,
            extra=extra,
            **common,
        )
        return [*_timed_out_upstream(parsed.exc_type, lead.ts, route, common), error]
    if group.kind == "access" and access is not None and is_cancel:
        outcome = "cancelled" if access["status"] < 400 else "error"
        return [_cancel(lead, outcome, route, None, extra, common)]
    if group.kind == "access" and access is not None:
        return [
            make_row(
                lead.ts,
                "runner",
                "log",
                endpoint=route,
                status=access["status"],
                message=lead.message,
                extra=extra,
                **common,
            )
        ]
    if parsed is not None:
        extra["traceback"] = "\n".join(r.message for r in group.records)
        return [
            make_row(
                lead.ts,
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
        make_row(
            lead.ts, "runner", "log", endpoint=endpoint, message=lead.message, extra=extra, **common
        )
    ]


def _cancel_outcome(message: str) -> str:
    """Seed 000's cancel route: "No task to cancel" / "Task is already done", else error."""
    text = message.lower()
    if "no task to cancel" in text:
        return "no_task"
    return "already_done" if "already done" in text else "error"


def _cancel(
    lead: Record,
    outcome: str,
    route: str | None,
    parsed: ParsedTraceback | None,
    extra: dict[str, Any],
    common: dict[str, Any],
) -> Row:
    """``cancel.received`` on ``<endpoint>/cancel``: its endpoint is the cancelled one."""
    endpoint = route.rstrip("/")[: -len("/cancel")] if route else None
    return make_row(
        lead.ts,
        "runner",
        "cancel.received",
        outcome=outcome,
        endpoint=endpoint or None,
        exc_type=parsed.exc_type if parsed else None,
        message=parsed.message if parsed else lead.message,
        status=(extra.get("access") or {}).get("status"),
        extra=extra,
        **common,
    )


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
        "child_id": f"{common['runner_id']}:{common['line_no']}:upstream",
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
