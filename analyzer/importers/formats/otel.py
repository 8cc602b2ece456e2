"""OpenTelemetry traces and logs (OTLP JSON file exporter, or the SDK's ConsoleSpanExporter).

Mapping (all events ``source = runner``; spans are the app's view):

- A **server span** (kind SERVER, or a root span carrying a request id) is one handler run:
  ``handler.started`` at its start; at its end ``handler.cancelled`` when it was cancelled
  (a ``CancelledError`` exception event or status, or a ``cancelled`` attribute),
  ``handler.error`` when its status is ERROR (exception type and message from its
  ``exception`` event; status from ``http.response.status_code``, else 500), else
  ``handler.finished`` (status from the span, else 200). Its request id is the first of the
  attributes ``fal.request_id``, ``fal_request_id``, ``request_id``, ``request.id``,
  ``http.request.header.x-fal-request-id``, ``x-fal-request-id``; without one, the trace id.
- Every **span below a server span** is child work of that request: ``child.started``
  (``child_id`` = span id, kind ``upstream`` for CLIENT spans, else ``task``; ``deadline_s``
  from a ``deadline_s``/``fal.deadline_s`` attribute) and at its end ``child.cancelled``
  (cancelled), ``child.finished`` outcome ``timeout`` (a Timeout exception), ``error``
  (status ERROR) or ``ok``. A span never ended (exported while running) has no end event.
- Each server span also yields an inferred gateway ``attempt.dispatched`` at its start and
  ``attempt.finished`` at its end (when its status is known), so the replay has an attempt
  to hang the handler and its children on (a trace has no gateway side).
- Spans under no server span and log records become ``log`` events.
- Runner id: resource attribute ``fal.runner_id``, ``fal_job_id``, ``runner_id``,
  ``service.instance.id`` or ``host.name`` (else ``service.name``); app: ``fal.app`` or
  ``service.name``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    iter_json_values,
    make_row,
)
from analyzer.importers.formats.otel_read import (
    LogRecord,
    Span,
    logs_from_otlp,
    span_from_console,
    spans_from_otlp,
)

NAME = "otel"
REQUEST_ID_KEYS = (
    "fal.request_id",
    "fal_request_id",
    "request_id",
    "request.id",
    "http.request.header.x-fal-request-id",
    "x-fal-request-id",
)
RUNNER_KEYS = (
    "fal.runner_id",
    "fal_job_id",
    "fal.job_id",
    "runner_id",
    "service.instance.id",
    "host.name",
    "service.name",
)
APP_KEYS = ("fal.app", "fal_app_name", "service.name")
ENDPOINT_KEYS = ("http.route", "url.path", "http.target")
STATUS_KEYS = ("http.response.status_code", "http.status_code")
DEADLINE_KEYS = ("deadline_s", "fal.deadline_s", "child.deadline_s")


def sniff(head: str) -> bool:
    """OTLP JSON (resourceSpans/resourceLogs) or ConsoleSpanExporter objects."""
    if '"resourceSpans"' in head or '"resourceLogs"' in head:
        return True
    return '"context"' in head and '"trace_id"' in head and '"span_id"' in head


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Read every object of the file, then map spans (a request's spans may be on many lines)."""
    spans: list[Span] = []
    logs: list[LogRecord] = []
    for item in iter_json_values("".join(lines)):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, obj = item
        try:
            if isinstance(obj, dict) and "resourceSpans" in obj:
                spans.extend(spans_from_otlp(obj, line_no))
            elif isinstance(obj, dict) and "resourceLogs" in obj:
                logs.extend(logs_from_otlp(obj, line_no))
            elif isinstance(obj, dict) and isinstance(obj.get("context"), dict):
                spans.append(span_from_console(obj, line_no))
            else:
                yield Rejected(line_no, compact(obj), "not an OpenTelemetry object")
        except (KeyError, TypeError, ValueError, TimestampError) as exc:
            yield Rejected(line_no, compact(obj), f"bad OpenTelemetry object: {exc!r}"[:200])
    yield from map_spans(spans)
    yield from map_logs(logs, spans)


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        text = as_str(value)
        if text is not None:
            return text
    return None


def _is_cancelled(span: Span) -> bool:
    if any("CancelledError" in str(e.attributes.get("exception.type", "")) for e in span.events):
        return True
    if span.status_message and "cancel" in span.status_message.lower():
        return True
    flag = span.attributes.get("cancelled", span.attributes.get("fal.cancelled"))
    return flag is True or str(flag).lower() == "true"


def _exception(span: Span) -> tuple[str | None, str | None]:
    for event in reversed(span.events):
        if event.name == "exception":
            return (
                as_str(event.attributes.get("exception.type")),
                as_str(event.attributes.get("exception.message")) or "",
            )
    if span.status_message and ":" in span.status_message:
        exc_type, _, message = span.status_message.partition(":")
        return exc_type.strip(), message.strip()
    return None, span.status_message


def _request_id(span: Span) -> str | None:
    return _first(span.attributes, REQUEST_ID_KEYS)


def _servers(spans: list[Span]) -> dict[tuple[str, str], Span]:
    ids = {(s.trace_id, s.span_id) for s in spans}
    return {
        (s.trace_id, s.span_id): s
        for s in spans
        if s.kind == "server"
        or (_request_id(s) and (s.parent_id is None or (s.trace_id, s.parent_id) not in ids))
    }


def _owner(
    span: Span, by_id: dict[tuple[str, str], Span], servers: dict[tuple[str, str], Span]
) -> Span | None:
    """The nearest server span above ``span`` (cycles and missing parents end the walk)."""
    seen: set[str] = set()
    current = span
    while current.parent_id and current.parent_id not in seen:
        seen.add(current.parent_id)
        key = (current.trace_id, current.parent_id)
        if key in servers:
            return servers[key]
        parent = by_id.get(key)
        if parent is None:
            return None
        current = parent
    return None


def map_spans(spans: list[Span]) -> Iterator[Row]:
    """Server spans -> handler events, their descendants -> child events, others -> log."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    servers = _servers(spans)
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key in servers:
            yield from _handler_rows(span)
            continue
        owner = _owner(span, by_id, servers)
        if owner is None:
            yield make_row(
                span.start,
                "runner",
                "log",
                line_no=span.line_no,
                ts_raw=span.ts_raw,
                level="info",
                message=f"span {span.name!r} outside any request",
                runner_id=_first(span.resource, RUNNER_KEYS),
                app=_first(span.resource, APP_KEYS),
                extra=_extra(span),
            )
            continue
        yield from _child_rows(span, owner)


def _common(span: Span, server: Span) -> dict[str, Any]:
    endpoint = _first(server.attributes, ENDPOINT_KEYS)
    if endpoint is None and " /" in server.name:
        endpoint = server.name.split(" ", 1)[1]
    return {
        "line_no": span.line_no,
        "request_id": _request_id(server) or server.trace_id,
        "runner_id": _first(server.resource, RUNNER_KEYS) or "unknown",
        "app": _first(server.resource, APP_KEYS),
        "endpoint": endpoint,
    }


def _extra(span: Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "span_name": span.name,
        "attributes": span.attributes or None,
    }


def _handler_rows(span: Span) -> Iterator[Row]:
    common = _common(span, span)
    extra = _extra(span)
    # The replay hangs runner events on the gateway's attempts: a trace alone has none, so
    # each server span also stands for one (inferred) dispatch, and its answer when known.
    yield make_row(
        span.start, "gateway", "attempt.dispatched", ts_raw=span.ts_raw, inferred=True, **common
    )
    yield make_row(
        span.start, "runner", "handler.started", ts_raw=span.ts_raw, extra=extra, **common
    )
    if span.end is None:
        return
    status_text = _first(span.attributes, STATUS_KEYS)
    status = int(status_text) if status_text and status_text.isdigit() else None
    if _is_cancelled(span):
        yield make_row(
            span.end, "runner", "handler.cancelled", status=status, extra=extra, **common
        )
    elif span.status == "error":
        exc_type, message = _exception(span)
        status = status or 500
        yield make_row(
            span.end,
            "runner",
            "handler.error",
            status=status,
            exc_type=exc_type or "Error",
            message=message or "",
            extra=extra,
            **common,
        )
    else:
        status = status or 200
        yield make_row(span.end, "runner", "handler.finished", status=status, extra=extra, **common)
    if status is not None:
        yield make_row(
            span.end, "gateway", "attempt.finished", status=status, inferred=True, **common
        )


def _child_rows(span: Span, server: Span) -> Iterator[Row]:
    common = _common(span, server)
    extra = _extra(span)
    deadline = _first(span.attributes, DEADLINE_KEYS)
    yield make_row(
        span.start,
        "runner",
        "child.started",
        ts_raw=span.ts_raw,
        child_id=span.span_id,
        kind="upstream" if span.kind == "client" else "task",
        name=span.name,
        deadline_s=float(deadline) if deadline else None,
        extra=extra,
        **common,
    )
    if span.end is None:
        return
    if _is_cancelled(span):
        yield make_row(
            span.end, "runner", "child.cancelled", child_id=span.span_id, extra=extra, **common
        )
        return
    exc_type, message = _exception(span)
    outcome = "ok"
    if span.status == "error":
        outcome = "timeout" if exc_type and "timeout" in exc_type.lower() else "error"
    yield make_row(
        span.end,
        "runner",
        "child.finished",
        child_id=span.span_id,
        outcome=outcome,
        exc_type=exc_type if outcome != "ok" else None,
        message=message if outcome != "ok" else None,
        extra=extra,
        **common,
    )


def map_logs(logs: list[LogRecord], spans: list[Span]) -> Iterator[Row]:
    """Log records -> ``log`` events; the request id from attributes or the record's trace."""
    servers = {s.trace_id: s for s in _servers(spans).values()}
    for record in logs:
        server = servers.get(record.trace_id or "")
        request_id = _first(record.attributes, REQUEST_ID_KEYS) or (
            (_request_id(server) or server.trace_id) if server else None
        )
        yield make_row(
            record.ts,
            "runner",
            "log",
            line_no=record.line_no,
            ts_raw=record.ts_raw,
            level=record.level.lower() if record.level else None,
            message=record.body,
            request_id=request_id,
            runner_id=_first(record.resource, RUNNER_KEYS),
            app=_first(record.resource, APP_KEYS),
            exc_type=as_str(record.attributes.get("exception.type")),
            extra={
                "trace_id": record.trace_id,
                "span_id": record.span_id,
                "attributes": record.attributes or None,
            },
        )


FORMAT = Format(
    name=NAME,
    description="OpenTelemetry: OTLP JSON (collector file exporter) or ConsoleSpanExporter output",
    sniff=sniff,
    parse=parse,
)
