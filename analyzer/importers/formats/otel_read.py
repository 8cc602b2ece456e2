"""Reading OpenTelemetry data into plain span and log records (both JSON shapes).

- OTLP JSON as the collector's file exporter writes it: one ``TracesData``
  (``{"resourceSpans": [...]}``) or ``LogsData`` (``{"resourceLogs": [...]}``) per line; hex
  ``traceId``/``spanId``; ``*UnixNano`` times as strings; integer (or enum-name) kinds and
  status codes; typed attribute values (``{"stringValue": ...}``).
- The Python SDK's ``ConsoleSpanExporter``: pretty-printed JSON objects one after the other,
  ``context.trace_id``/``span_id`` as ``0x`` hex, ISO times, ``SpanKind.SERVER`` kinds,
  ``StatusCode.ERROR`` statuses, plain attribute values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analyzer.importers.formats.base import as_str, from_unix_nanos, parse_ts

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass
class SpanEvent:
    """An event recorded on a span (``exception`` events carry the exception)."""

    name: str
    ts: datetime | None
    attributes: dict[str, Any]


@dataclass
class Span:
    """One span, whichever shape it came in."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start: datetime
    end: datetime | None
    status: str  # "unset", "ok", "error"
    status_message: str | None
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[SpanEvent] = field(default_factory=list)
    line_no: int = 0
    ts_raw: str = ""


@dataclass
class LogRecord:
    """One OTLP log record."""

    ts: datetime
    ts_raw: str
    level: str | None
    body: str | None
    attributes: dict[str, Any]
    resource: dict[str, Any]
    trace_id: str | None
    span_id: str | None
    line_no: int


def otlp_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [otlp_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return otlp_attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def otlp_attributes(items: Any) -> dict[str, Any]:
    """An OTLP ``[{key, value}]`` list as a dict."""
    if not isinstance(items, list):
        return {}
    return {
        str(kv.get("key")): otlp_value(kv.get("value"))
        for kv in items
        if isinstance(kv, dict) and "key" in kv
    }


def _norm_id(value: Any) -> str | None:
    text = as_str(value)
    if text is None:
        return None
    text = text.lower().removeprefix("0x")
    return None if not text or set(text) == {"0"} else text


def _kind(value: Any) -> str:
    if isinstance(value, int):
        return _KINDS.get(value, "unspecified")
    text = str(value or "").lower()
    for name in _KINDS.values():
        if text.endswith(name):
            return name
    return "unspecified"


def _status(value: Any) -> str:
    if isinstance(value, int):
        return {1: "ok", 2: "error"}.get(value, "unset")
    text = str(value or "").lower()
    return "error" if "error" in text else "ok" if text.endswith("ok") else "unset"


def spans_from_otlp(doc: dict[str, Any], line_no: int) -> list[Span]:
    """Every span of one ``TracesData`` object."""
    spans: list[Span] = []
    for resource_spans in doc.get("resourceSpans") or []:
        resource = otlp_attributes((resource_spans.get("resource") or {}).get("attributes"))
        for scope in (
            resource_spans.get("scopeSpans")
            or resource_spans.get("instrumentationLibrarySpans")
            or []
        ):
            for raw in scope.get("spans") or []:
                status = raw.get("status") or {}
                end_nanos = raw.get("endTimeUnixNano")
                spans.append(
                    Span(
                        trace_id=_norm_id(raw.get("traceId")) or "",
                        span_id=_norm_id(raw.get("spanId")) or "",
                        parent_id=_norm_id(raw.get("parentSpanId")),
                        name=str(raw.get("name") or ""),
                        kind=_kind(raw.get("kind")),
                        start=from_unix_nanos(raw["startTimeUnixNano"]),
                        end=from_unix_nanos(end_nanos)
                        if end_nanos not in (None, "", "0", 0)
                        else None,
                        status=_status(status.get("code")),
                        status_message=as_str(status.get("message")),
                        attributes=otlp_attributes(raw.get("attributes")),
                        resource=resource,
                        events=[
                            SpanEvent(
                                str(e.get("name") or ""),
                                from_unix_nanos(e["timeUnixNano"])
                                if e.get("timeUnixNano")
                                else None,
                                otlp_attributes(e.get("attributes")),
                            )
                            for e in raw.get("events") or []
                            if isinstance(e, dict)
                        ],
                        line_no=line_no,
                        ts_raw=str(raw["startTimeUnixNano"]),
                    )
                )
    return spans


def span_from_console(obj: dict[str, Any], line_no: int) -> Span:
    """One span as ``ConsoleSpanExporter`` (``ReadableSpan.to_json``) prints it."""
    context = obj.get("context") or {}
    status = obj.get("status") or {}
    resource = obj.get("resource") or {}
    start, _ = parse_ts(obj["start_time"])
    end = parse_ts(obj["end_time"])[0] if obj.get("end_time") else None
    return Span(
        trace_id=_norm_id(context.get("trace_id")) or "",
        span_id=_norm_id(context.get("span_id")) or "",
        parent_id=_norm_id(obj.get("parent_id")),
        name=str(obj.get("name") or ""),
        kind=_kind(obj.get("kind")),
        start=start,
        end=end,
        status=_status(status.get("status_code")),
        status_message=as_str(status.get("description")),
        attributes=dict(obj.get("attributes") or {}),
        resource=dict(resource.get("attributes") or {}) if isinstance(resource, dict) else {},
        events=[
            SpanEvent(
                str(e.get("name") or ""),
                parse_ts(e["timestamp"])[0] if e.get("timestamp") else None,
                dict(e.get("attributes") or {}),
            )
            for e in obj.get("events") or []
            if isinstance(e, dict)
        ],
        line_no=line_no,
        ts_raw=str(obj["start_time"]),
    )


def logs_from_otlp(doc: dict[str, Any], line_no: int) -> list[LogRecord]:
    """Every log record of one ``LogsData`` object."""
    records: list[LogRecord] = []
    for resource_logs in doc.get("resourceLogs") or []:
        resource = otlp_attributes((resource_logs.get("resource") or {}).get("attributes"))
        for scope in resource_logs.get("scopeLogs") or []:
            for raw in scope.get("logRecords") or []:
                nanos = raw.get("timeUnixNano") or raw.get("observedTimeUnixNano")
                body = otlp_value(raw.get("body"))
                records.append(
                    LogRecord(
                        ts=from_unix_nanos(nanos),
                        ts_raw=str(nanos),
                        level=as_str(raw.get("severityText")),
                        body=None if body is None else str(body),
                        attributes=otlp_attributes(raw.get("attributes")),
                        resource=resource,
                        trace_id=_norm_id(raw.get("traceId")),
                        span_id=_norm_id(raw.get("spanId")),
                        line_no=line_no,
                    )
                )
    return records
