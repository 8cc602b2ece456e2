"""The platform's app events (runner lifecycle), mapped to native events.

Input: ``{event_id, created_at, category, payload: {job_id, reason, state, machine_type}}``
records, as pages (``items``/``events``), a bare array, or JSON lines. ``job_id`` is the
runner id. Mapping by category:

| category | native event |
|---|---|
| ``runner_started`` | ``runner.started`` |
| ``runner_setup`` | ``runner.ready`` when the state is IDLE/RUNNING (setup done), else ``log`` |
| ``runner_startup_failure`` | ``runner.terminated`` reason ``startup_timeout`` when the reason mentions a timeout, else ``runner.setup_failed`` |
| ``runner_failed`` | ``runner.setup_failed`` when in SETUP, else ``runner.terminated`` (inferred; reason from its text, default ``crash``) |
| ``runner_stopping`` | ``runner.terminated`` (inferred) when the reason names a failure (503, stop header, timeout, health check, crash), else ``log`` |
| ``runner_finished`` | ``runner.stopped`` |
| anything else (``runner_pending``, ``runner_draining``, ``deployment_*``, ...) | ``log`` |
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
    iter_timestamped,
    make_row,
)

NAME = "fal_events"

# (pattern over the free-text reason, native termination reason), first match wins
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"startup[_ ]timeout|startup.*tim", re.I), "startup_timeout"),
    (re.compile(r"stop[_-]runner", re.I), "stop_runner_header"),
    (re.compile(r"\b503\b|status[_ ]503", re.I), "status_503"),
    (re.compile(r"request[_ ]timeout|timed? ?out", re.I), "request_timeout"),
    (re.compile(r"health", re.I), "health_check_failed"),
    (re.compile(r"setup", re.I), "setup_failed"),
    (re.compile(r"connection", re.I), "connection_error"),
    (re.compile(r"crash|exit|killed|oom|signal|fail|error", re.I), "crash"),
)
_READY_STATES = {"IDLE", "RUNNING"}


def sniff(head: str) -> bool:
    """Records with a category, a created_at and a payload."""
    return '"category"' in head and '"created_at"' in head and '"payload"' in head


def termination_reason(text: str | None) -> str | None:
    """The native termination reason a free-text reason names, or None."""
    if not text:
        return None
    for pattern, reason in _REASONS:
        if pattern.search(text):
            return reason
    return None


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map every app event; records without a valid ``created_at`` are rejected."""
    for item in iter_timestamped(lines, ("items", "events"), "created_at"):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, record, ts, naive = item
        yield _map(record, line_no, ts, naive)


def _map(record: dict[str, Any], line_no: int, ts: Any, naive: bool) -> Row:
    payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
    assert isinstance(payload, dict)
    category = as_str(record.get("category")) or "unknown"
    state = (as_str(payload.get("state")) or "").upper() or None
    reason = as_str(payload.get("reason"))
    extra = {k: v for k, v in record.items() if k not in ("created_at", "category", "payload")}
    extra.update(
        {k: v for k, v in payload.items() if k not in ("job_id", "machine_type", "reason")}
    )
    extra["category"] = category
    common: dict[str, Any] = {
        "line_no": line_no,
        "ts_raw": str(record["created_at"]),
        "ts_naive": naive,
        "runner_id": as_str(payload.get("job_id")),
        "app": as_str(record.get("app")) or as_str(payload.get("app")),
        "machine_type": as_str(payload.get("machine_type")),
        "extra": extra,
    }
    named = termination_reason(reason)
    if category == "runner_started":
        return make_row(ts, "runner", "runner.started", **common)
    if category == "runner_setup" and state in _READY_STATES:
        return make_row(ts, "runner", "runner.ready", **common)
    if category == "runner_startup_failure" and named == "startup_timeout":
        return make_row(
            ts, "gateway", "runner.terminated", reason="startup_timeout", message=reason, **common
        )
    if category == "runner_startup_failure" or (category == "runner_failed" and state == "SETUP"):
        return _setup_failed(ts, reason, common)
    if category == "runner_failed":
        return make_row(
            ts,
            "gateway",
            "runner.terminated",
            reason=named or "crash",
            message=reason,
            inferred=True,
            **common,
        )
    if category == "runner_stopping" and named is not None:
        return make_row(
            ts,
            "gateway",
            "runner.terminated",
            reason=named,
            message=reason,
            inferred=True,
            **common,
        )
    if category == "runner_finished":
        return make_row(ts, "runner", "runner.stopped", reason=reason or "finished", **common)
    text = f"{category}" + (f" ({state})" if state else "") + (f": {reason}" if reason else "")
    return make_row(ts, "runner", "log", level="info", message=text, reason=reason, **common)


_EXC = re.compile(
    r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Fault))(?::\s*(.*))?", re.S
)


def _setup_failed(ts: Any, reason: str | None, common: dict[str, Any]) -> Row:
    """``runner.setup_failed``; ``ExcType: message`` in the reason gives the exception."""
    match = _EXC.match(reason or "")
    exc_type = match.group(1) if match else "StartupFailure"
    message = (match.group(2) if match else None) or reason or "setup failed"
    return make_row(
        ts, "runner", "runner.setup_failed", exc_type=exc_type, message=message, **common
    )


FORMAT = Format(
    name=NAME,
    description="the platform's app events (runner lifecycle: started, setup, stopping, failed)",
    sniff=sniff,
    parse=parse,
)
