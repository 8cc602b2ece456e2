"""OpenTelemetry traces and logs (every OTLP JSON shape, or the SDK's ConsoleSpanExporter).

Shapes and id encodings: :mod:`.otel_read`. Mapping (events ``source = runner`` unless said;
spans are the app's view, a trace has no gateway side):

- A **request root** is a server span (kind SERVER, or a span carrying a request id whose parent
  is unknown) with no server span above it. It is one handler run: ``handler.started`` at its
  start; at its end ``handler.cancelled`` (a ``CancelledError`` exception event or status, or a
  ``cancelled`` attribute), ``handler.error`` (status ERROR: exception type and message from its
  ``exception`` event, none invented when there is none; status from
  ``http.response.status_code``/``http.status_code``, else 500), else ``handler.finished``
  (status from the span, else 200). Its request id is the first of ``fal.request_id``,
  ``fal_request_id``, ``request_id``, ``request.id``, the captured header
  ``http.request.header.x_fal_request_id`` (how Python instrumentation writes it: underscores,
  a list) or ``http.request.header.x-fal-request-id``, ``x-fal-request-id``; else the trace id.
  It also stands for the gateway's side, marked ``inferred``: ``request.received`` and
  ``attempt.dispatched`` at its start, ``attempt.finished`` and ``request.completed`` at its end
  when its status is known.
- A request root on the documented ``<endpoint>/cancel`` route is the runner receiving a
  cancel: ``cancel.received`` for the request id it carries, outcome ``cancelled``, ``no_task``
  (``No task to cancel``) or ``error``; not a request of its own.
- Every **span below a request root** is child work of that request, downstream services'
  SERVER spans included (a SERVER span under another service's CLIENT span is not a retry):
  ``child.started`` (``child_id`` = span id, kind ``upstream`` for CLIENT spans, else ``task``;
  ``deadline_s`` from ``deadline_s``/``fal.deadline_s``) and at its end ``child.cancelled``, or
  ``child.finished`` outcome ``timeout`` (a Timeout exception), ``error`` (status ERROR) or
  ``ok``. A span never ended (exported while running) has no end event.
- A span under no request root is a ``log`` event ("span ... outside any request"); log
  records are ``log`` events, their request id from their attributes or their span's request.
- Runner id: resource attribute ``fal.runner_id``, ``fal_job_id``, ``runner_id``,
  ``service.instance.id`` or ``host.name`` (else ``service.name``); app: ``fal.app`` or
  ``service.name``. Child events carry their request root's runner, app and endpoint.

A span seen twice (exporters retry) is mapped once (a :class:`Skipped` item for the copy). This
mapping sees one file; :mod:`.otel_link` resolves parents, request ids and child work over every
imported span after each import, so rotated files and one file per signal work. Every
span-derived row carries ``extra.trace_id``/``span_id``/``parent_id``/``span_kind`` for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    Row,
    Skipped,
    as_str,
    iter_json_values,
    json_lines,
    make_row,
)
from analyzer.importers.formats.otel_read import LogRecord, Span, read_document

NAME = "otel"
REQUEST_ID_KEYS = (
    "fal.request_id",
    "fal_request_id",
    "request_id",
    "request.id",
    "http.request.header.x_fal_request_id",
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
CANCEL_ROUTE = "/cancel"


def sniff(head: str) -> bool:
    """OTLP JSON (any signal, any wrapper) or ConsoleSpanExporter objects."""
    if any(
        f'"{key}"' in head
        for key in ("resourceSpans", "resourceLogs", "resourceMetrics", "scopeSpans")
    ):
        return True
    if '"batches"' in head and ('"spans"' in head or '"instrumentationLibrarySpans"' in head):
        return True
    return '"context"' in head and '"trace_id"' in head and '"span_id"' in head


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Read every object of the file, then map spans (a request's spans may be on many lines)."""
    spans: dict[tuple[str, str], Span] = {}
    logs: list[LogRecord] = []
    for item in _json_values(lines):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, obj = item
        for read in read_document(obj, line_no):
            if isinstance(read, Span):
                first = spans.get(read.key)
                if first is None:
                    spans[read.key] = read
                    continue
                yield Skipped(read.line_no, f"duplicate span (first on line {first.line_no})")
                if first.end is None and read.end is not None:  # keep the finished copy
                    spans[read.key] = read
            elif isinstance(read, LogRecord):
                logs.append(read)
            else:
                yield read
    resolved = Resolution(list(spans.values()))
    yield from map_spans(resolved)
    yield from map_logs(logs, resolved)


def _json_values(lines: Iterable[str]) -> Iterator[tuple[int, Any] | Rejected]:
    """The file's JSON values: line by line when it is JSON lines (the collector's file
    exporter: no need to hold the file as one text), else read whole (pretty-printed objects
    one after the other, as the console exporter writes them)."""
    it = iter(lines)
    head: list[str] = []
    for line in it:
        head.append(line)
        if line.strip():
            break
    try:
        json.loads(head[-1] if head else "")
    except (ValueError, RecursionError):
        yield from iter_json_values("".join(head) + "".join(it))
        return
    yield from json_lines(chain(head, it))


def first_value(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first present attribute of ``keys`` as text (a list gives its first element)."""
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        text = as_str(value)
        if text is not None:
            return text
    return None


def request_id_of(span: Span) -> str | None:
    return first_value(span.attributes, REQUEST_ID_KEYS)


def endpoint_of(span: Span) -> str | None:
    endpoint = first_value(span.attributes, ENDPOINT_KEYS)
    if endpoint is None and " /" in span.name:
        endpoint = span.name.split(" ", 1)[1]
    return endpoint


class Resolution:
    """Request roots and owners of the spans of one file."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.by_id = {s.key: s for s in spans}
        self.servers = {
            s.key
            for s in spans
            if s.kind == "server"
            or (
                request_id_of(s)
                and (s.parent_id is None or (s.trace_id, s.parent_id) not in self.by_id)
            )
        }
        self.owners = {s.key: self._owner(s) for s in spans}
        self.roots = {k: self.by_id[k] for k in self.servers if self.owners[k] is None}

    def _owner(self, span: Span) -> Span | None:
        """The topmost server span above ``span`` (cycles and missing parents end the walk)."""
        seen = {span.span_id}
        found: Span | None = None
        current = span
        while current.parent_id and current.parent_id not in seen:
            seen.add(current.parent_id)
            parent = self.by_id.get((current.trace_id, current.parent_id))
            if parent is None:
                break
            if parent.key in self.servers:
                found = parent
            current = parent
        return found


def map_spans(res: Resolution) -> Iterator[Row]:
    """Request roots -> handler (or cancel) events, spans below them -> child events, others
    -> log events."""
    for span in res.spans:
        owner = res.owners[span.key]
        if span.key in res.roots:
            if (endpoint_of(span) or "").rstrip("/").endswith(CANCEL_ROUTE):
                yield _cancel_row(span)
            else:
                yield from _handler_rows(span)
        elif owner is not None:
            yield from _child_rows(span, owner)
        else:
            yield _orphan_row(span)


def _status_code(span: Span) -> int | None:
    text = first_value(span.attributes, STATUS_KEYS)
    return int(text) if text and text.isdigit() and len(text) <= 4 else None


def common_fields(span: Span, root: Span) -> dict[str, Any]:
    """Request, runner, app and endpoint of ``span``'s events (those of its request root)."""
    return {
        "line_no": span.line_no,
        "request_id": request_id_of(root) or root.trace_id,
        "runner_id": first_value(root.resource, RUNNER_KEYS) or "unknown",
        "app": first_value(root.resource, APP_KEYS),
        "endpoint": endpoint_of(root),
    }


def span_extra(span: Span, start: bool = False, **more: Any) -> dict[str, Any]:
    """The span's identity (for the cross-file links), and on its first row its attributes."""
    extra: dict[str, Any] = {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "span_kind": span.kind,
        "span_name": span.name,
    }
    if start:
        extra["service"] = first_value(span.resource, ("service.name",))
        extra["attributes"] = span.attributes or None
    extra.update(more)
    return extra


def is_cancelled(span: Span) -> bool:
    if any("CancelledError" in str(e.attributes.get("exception.type", "")) for e in span.events):
        return True
    if span.status_message and "cancel" in span.status_message.lower():
        return True
    flag = span.attributes.get("cancelled", span.attributes.get("fal.cancelled"))
    return flag is True or str(flag).lower() == "true"


def exception_of(span: Span) -> tuple[str | None, str | None]:
    """(type, message) of the span's last ``exception`` event, else from its status text."""
    for event in reversed(span.events):
        if event.name == "exception":
            return (
                as_str(event.attributes.get("exception.type")),
                as_str(event.attributes.get("exception.message")) or "",
            )
    if span.status_message and ":" in span.status_message:
        exc_type, _, message = span.status_message.partition(":")
        if exc_type.strip().isidentifier():
            return exc_type.strip(), message.strip()
    return None, span.status_message


def _cancel_row(span: Span) -> Row:
    common = common_fields(span, span)
    endpoint = (common.pop("endpoint") or "").rstrip("/")[: -len(CANCEL_ROUTE)] or None
    exc_type, message = exception_of(span)
    status = _status_code(span)
    failed = span.status == "error" or (status is not None and status >= 400) or exc_type
    outcome = "cancelled"
    if failed:
        outcome = "no_task" if "no task to cancel" in (message or "").lower() else "error"
    return make_row(
        span.start,
        "runner",
        "cancel.received",
        ts_raw=span.ts_raw,
        outcome=outcome,
        status=status,
        exc_type=exc_type,
        message=message,
        endpoint=endpoint,
        extra=span_extra(span, start=True, otel_role="cancel"),
        **common,
    )


def _handler_rows(span: Span) -> Iterator[Row]:
    common = common_fields(span, span)
    extra = span_extra(span, otel_role="root")
    # A trace has no gateway side: the request root also stands for the platform's dispatch
    # and answer (inferred), so the replay has a request and an attempt to hang it on.
    gateway: dict[str, Any] = {
        "inferred": True,
        "extra": {"span_id": span.span_id, "trace_id": span.trace_id, "otel_role": "gateway"},
    }
    yield make_row(
        span.start, "gateway", "request.received", ts_raw=span.ts_raw, **gateway, **common
    )
    yield make_row(
        span.start, "gateway", "attempt.dispatched", ts_raw=span.ts_raw, **gateway, **common
    )
    yield make_row(
        span.start,
        "runner",
        "handler.started",
        ts_raw=span.ts_raw,
        extra=span_extra(span, start=True, otel_role="root"),
        **common,
    )
    if span.end is None:
        return
    status = _status_code(span)
    if is_cancelled(span):
        yield make_row(
            span.end, "runner", "handler.cancelled", status=status, extra=extra, **common
        )
    elif span.status == "error":
        exc_type, message = exception_of(span)
        status = status or 500
        yield make_row(
            span.end,
            "runner",
            "handler.error",
            status=status,
            exc_type=exc_type,
            message=message,
            extra=extra,
            **common,
        )
    else:
        status = status or 200
        yield make_row(span.end, "runner", "handler.finished", status=status, extra=extra, **common)
    if status is not None:
        yield make_row(span.end, "gateway", "attempt.finished", status=status, **gateway, **common)
        yield make_row(span.end, "gateway", "request.completed", status=status, **gateway, **common)


def child_end(span: Span) -> dict[str, Any] | None:
    """How child ``span`` ended: its end event and fields, or None while it runs."""
    if span.end is None:
        return None
    if is_cancelled(span):
        return {"event": "child.cancelled", "ts": span.end.isoformat()}
    exc_type, message = exception_of(span)
    outcome = "ok"
    if span.status == "error":
        outcome = "timeout" if exc_type and "timeout" in exc_type.lower() else "error"
    return {
        "event": "child.finished",
        "ts": span.end.isoformat(),
        "outcome": outcome,
        "exc_type": exc_type if outcome != "ok" else None,
        "message": message if outcome != "ok" else None,
    }


def child_kind(span: Span) -> str:
    return "upstream" if span.kind == "client" else "task"


def deadline_of(span: Span) -> float | None:
    text = first_value(span.attributes, DEADLINE_KEYS)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _child_rows(span: Span, root: Span) -> Iterator[Row]:
    common = common_fields(span, root)
    yield make_row(
        span.start,
        "runner",
        "child.started",
        ts_raw=span.ts_raw,
        child_id=span.span_id,
        kind=child_kind(span),
        name=span.name,
        deadline_s=deadline_of(span),
        extra=span_extra(span, start=True, otel_role="child"),
        **common,
    )
    end = child_end(span)
    if end is None or span.end is None:
        return
    event, fields = end.pop("event"), {k: v for k, v in end.items() if k != "ts"}
    yield make_row(
        span.end,
        "runner",
        event,
        child_id=span.span_id,
        extra=span_extra(span, otel_role="child"),
        **fields,
        **common,
    )


def _orphan_row(span: Span) -> Row:
    """A span under no request (yet): a log event that keeps what it needs to become child
    work when its request root turns up in another file (:mod:`.otel_link`)."""
    return make_row(
        span.start,
        "runner",
        "log",
        line_no=span.line_no,
        ts_raw=span.ts_raw,
        level="info",
        message=f"span {span.name!r} outside any request",
        runner_id=first_value(span.resource, RUNNER_KEYS),
        app=first_value(span.resource, APP_KEYS),
        extra=span_extra(
            span,
            start=True,
            otel_role="orphan",
            child_kind=child_kind(span),
            deadline_s=deadline_of(span),
            span_end=child_end(span),
        ),
    )


def map_logs(logs: list[LogRecord], res: Resolution) -> Iterator[Row]:
    """Log records -> ``log`` events; the request id from attributes or the record's span."""
    by_trace = {s.trace_id: s for s in res.roots.values()}
    for record in logs:
        span = res.by_id.get((record.trace_id or "", record.span_id or ""))
        root = None
        if span is not None:
            root = span if span.key in res.roots else res.owners.get(span.key)
        root = root or by_trace.get(record.trace_id or "")
        own = first_value(record.attributes, REQUEST_ID_KEYS)
        request_id = own or ((request_id_of(root) or root.trace_id) if root else None)
        yield make_row(
            record.ts,
            "runner",
            "log",
            line_no=record.line_no,
            ts_raw=record.ts_raw,
            level=record.level.lower() if record.level else None,
            message=record.body,
            request_id=request_id,
            runner_id=first_value(record.resource, RUNNER_KEYS),
            app=first_value(record.resource, APP_KEYS),
            exc_type=as_str(record.attributes.get("exception.type")),
            extra={
                "trace_id": record.trace_id,
                "span_id": record.span_id,
                "otel_role": "log_record",
                "request_id_from": "attributes" if own else None,
                "attributes": record.attributes or None,
            },
        )


FORMAT = Format(
    name=NAME,
    description="OpenTelemetry: OTLP JSON (file exporter, MessageToJson, Tempo, Jaeger api_v3) "
    "or ConsoleSpanExporter output",
    sniff=sniff,
    parse=parse,
)
