"""Reading OpenTelemetry data into plain span and log records (every JSON shape we know).

Shapes (one JSON value per line, or pretty-printed values one after the other):

- OTLP/JSON ``TracesData`` / ``ExportTraceServiceRequest``: ``{"resourceSpans": [...]}``, as
  the collector's file exporter and protobuf's ``MessageToJson`` write it; ``LogsData``:
  ``{"resourceLogs": [...]}``; ``MetricsData``: ``{"resourceMetrics": [...]}`` (recognised and
  skipped: metrics carry no request).
- Scopes under ``scopeSpans`` / ``scopeLogs``, or the pre-1.0 names
  ``instrumentationLibrarySpans`` / ``instrumentationLibraryLogs``.
- Tempo's own files: ``{"batches": [...]}`` (resource spans under another name).
- Jaeger's api_v3 answers: ``{"result": {"resourceSpans": [...]}}``.
- The Python SDK's ``ConsoleSpanExporter``: ``context.trace_id``/``span_id`` as ``0x`` hex, ISO
  times, ``SpanKind.SERVER`` kinds, ``StatusCode.ERROR`` statuses, plain attribute values.

Ids: hex (any case, ``0x`` optional) or base64 (``MessageToJson``, Tempo) are decoded to
lower-case hex, so one span has one id whichever encoder wrote it. Times: ``*UnixNano`` as a
decimal string or integer, checked to fit a 64-bit nanosecond count.

Every bad item (a resource, a span, a log record) is a :class:`Rejected` of its own; the items
around it are kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.importers.formats.base import (
    Rejected,
    Skipped,
    TimestampError,
    as_str,
    compact,
    parse_ts,
)

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_HEX = re.compile(r"[0-9a-fA-F]+")
_MAX_NANOS = 2**63 - 1  # int64 nanoseconds: up to the year 2262
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    @property
    def key(self) -> tuple[str, str]:
        return (self.trace_id, self.span_id)


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


Read = Span | LogRecord | Rejected | Skipped


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
        values = (value["arrayValue"] or {}).get("values") or []
        return [otlp_value(v) for v in values] if isinstance(values, list) else []
    if "kvlistValue" in value:
        return otlp_attributes((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def otlp_attributes(items: Any) -> dict[str, Any]:
    """An OTLP ``[{key, value}]`` list as a dict (a plain dict is taken as it is)."""
    if isinstance(items, dict):
        return dict(items)
    if not isinstance(items, list):
        return {}
    return {
        str(kv.get("key")): otlp_value(kv.get("value"))
        for kv in items
        if isinstance(kv, dict) and "key" in kv
    }


def norm_id(value: Any) -> str | None:
    """A trace/span id as lower-case hex: hex as written (``0x`` optional) or base64 decoded.

    An id of 16 or 32 hex digits is hex; otherwise a base64 text of 8 or 16 bytes is decoded.
    Anything else is kept verbatim (never lower-cased: two ids must not collide). All-zero ids
    mean "none".
    """
    text = as_str(value)
    if text is None:
        return None
    bare = text[2:] if text[:2] in ("0x", "0X") else text
    if _HEX.fullmatch(bare) and len(bare) in (16, 32):
        hex_id = bare.lower()
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) in (8, 16):
            hex_id = raw.hex()
        elif _HEX.fullmatch(bare):
            hex_id = bare.lower()
        else:
            hex_id = text
    return None if set(hex_id) == {"0"} else hex_id


def unix_nanos(value: Any, name: str) -> datetime:
    """An OTLP ``*UnixNano`` (decimal string or integer) as a UTC time, or TimestampError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TimestampError(f"{name} is not an integer: {compact(value, 80)}")
    text = str(value).strip()
    if not text.isdigit():
        raise TimestampError(f"{name} is not an integer: {compact(value, 80)}")
    nanos = int(text) if len(text) <= 20 else _MAX_NANOS + 1
    if nanos > _MAX_NANOS:
        raise TimestampError(f"{name} out of range: {text[:40]}")
    return _EPOCH + timedelta(microseconds=nanos // 1000)


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


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read_document(obj: Any, line_no: int) -> Iterator[Read]:
    """Every span, log record, skipped or rejected item of one top-level JSON value."""
    if isinstance(obj, dict) and isinstance(obj.get("result"), dict):
        obj = obj["result"]  # Jaeger api_v3
    if not isinstance(obj, dict):
        yield Rejected(line_no, compact(obj), "not an OpenTelemetry object")
        return
    if "resourceSpans" in obj or "batches" in obj:
        key = "resourceSpans" if "resourceSpans" in obj else "batches"
        yield from _resources(obj[key], key, line_no, _SPANS, span_from_otlp)
    elif "resourceLogs" in obj:
        yield from _resources(obj["resourceLogs"], "resourceLogs", line_no, _LOGS, log_from_otlp)
    elif "resourceMetrics" in obj:
        yield Skipped(line_no, "OTLP metrics (no request in them)")
    elif isinstance(obj.get("context"), dict):
        yield _one(lambda: span_from_console(obj, line_no), obj, line_no)
    else:
        yield Rejected(line_no, compact(obj), "not an OpenTelemetry object")


def _one(build: Any, raw: Any, line_no: int) -> Span | LogRecord | Rejected:
    try:
        result: Span | LogRecord = build()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejected(line_no, _raw(raw), f"bad OpenTelemetry item: {exc}"[:300])
    except RecursionError:
        return Rejected(line_no, _raw(raw), "bad OpenTelemetry item: nested too deeply")
    return result


def _raw(value: Any) -> str:
    """``value`` as rejected text, also when it is too deep to encode."""
    try:
        return compact(value)
    except RecursionError:
        return repr(value)[:2000]


_SPANS = (("scopeSpans", "instrumentationLibrarySpans"), "spans")
_LOGS = (("scopeLogs", "instrumentationLibraryLogs"), "logRecords")


def _resources(
    items: Any, key: str, line_no: int, signal: tuple[tuple[str, ...], str], build: Any
) -> Iterator[Read]:
    """Every record of a ``resourceSpans``/``resourceLogs`` list: resource, scope (new or
    pre-1.0 name), record; each bad level rejected on its own."""
    if not isinstance(items, list):
        yield Rejected(line_no, compact(items), f"{key} is not a list")
        return
    scope_names, records_key = signal
    for index, res in enumerate(items):
        if not isinstance(res, dict):
            yield Rejected(line_no, compact(res), f"{key}[{index}] is not an object")
            continue
        resource = otlp_attributes((res.get("resource") or {}).get("attributes"))
        for name in scope_names:
            for scope in _list(res.get(name)):
                if not isinstance(scope, dict):
                    yield Rejected(line_no, compact(scope), f"an item of {name} is not an object")
                    continue
                for raw in _list(scope.get(records_key)):
                    yield _one(lambda r=raw, res=resource: build(r, res, line_no), raw, line_no)


def span_from_otlp(raw: Any, resource: dict[str, Any], line_no: int) -> Span:
    """One OTLP span (raises on a span that cannot be read)."""
    if not isinstance(raw, dict):
        raise TypeError("span is not an object")
    trace_id, span_id = norm_id(raw.get("traceId")), norm_id(raw.get("spanId"))
    if trace_id is None or span_id is None:
        raise ValueError("span without traceId or spanId")
    if raw.get("startTimeUnixNano") in (None, "", "0", 0):
        raise ValueError("span without startTimeUnixNano")
    status = raw.get("status") or {}
    if not isinstance(status, dict):
        status = {}
    end_nanos = raw.get("endTimeUnixNano")
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=norm_id(raw.get("parentSpanId")),
        name=str(raw.get("name") or ""),
        kind=_kind(raw.get("kind")),
        start=unix_nanos(raw["startTimeUnixNano"], "startTimeUnixNano"),
        end=unix_nanos(end_nanos, "endTimeUnixNano")
        if end_nanos not in (None, "", "0", 0)
        else None,
        status=_status(status.get("code")),
        status_message=as_str(status.get("message")),
        attributes=otlp_attributes(raw.get("attributes")),
        resource=resource,
        events=[
            SpanEvent(
                str(e.get("name") or ""),
                unix_nanos(e["timeUnixNano"], "timeUnixNano") if e.get("timeUnixNano") else None,
                otlp_attributes(e.get("attributes")),
            )
            for e in _list(raw.get("events"))
            if isinstance(e, dict)
        ],
        line_no=line_no,
        ts_raw=str(raw["startTimeUnixNano"]),
    )


def span_from_console(obj: dict[str, Any], line_no: int) -> Span:
    """One span as ``ConsoleSpanExporter`` (``ReadableSpan.to_json``) prints it."""
    context = obj.get("context") or {}
    status = obj.get("status") or {}
    resource = obj.get("resource") or {}
    trace_id, span_id = norm_id(context.get("trace_id")), norm_id(context.get("span_id"))
    if trace_id is None or span_id is None:
        raise ValueError("span without trace_id or span_id")
    if not obj.get("start_time"):
        raise ValueError("span without start_time")
    start, _ = parse_ts(obj["start_time"])
    end = parse_ts(obj["end_time"])[0] if obj.get("end_time") else None
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=norm_id(obj.get("parent_id")),
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
            for e in _list(obj.get("events"))
            if isinstance(e, dict)
        ],
        line_no=line_no,
        ts_raw=str(obj["start_time"]),
    )


def _body_text(body: Any) -> str | None:
    """A log body as text: strings as they are, structured bodies (kvlist, array) as JSON."""
    if body is None:
        return None
    if isinstance(body, dict | list):
        return json.dumps(body, ensure_ascii=False, default=str)
    return str(body)


def log_from_otlp(raw: Any, resource: dict[str, Any], line_no: int) -> LogRecord:
    """One OTLP log record (raises on a record that cannot be read)."""
    if not isinstance(raw, dict):
        raise TypeError("log record is not an object")
    nanos = raw.get("timeUnixNano")
    if nanos in (None, "", "0", 0):
        nanos = raw.get("observedTimeUnixNano")
    if nanos in (None, "", "0", 0):
        raise ValueError("log record without timeUnixNano or observedTimeUnixNano")
    return LogRecord(
        ts=unix_nanos(nanos, "timeUnixNano"),
        ts_raw=str(nanos),
        level=as_str(raw.get("severityText")),
        body=_body_text(otlp_value(raw.get("body"))),
        attributes=otlp_attributes(raw.get("attributes")),
        resource=resource,
        trace_id=norm_id(raw.get("traceId")),
        span_id=norm_id(raw.get("spanId")),
        line_no=line_no,
    )
