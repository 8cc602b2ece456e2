"""Builders of small OTLP/JSON documents for the OpenTelemetry tests (hand-written shapes)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

T0 = 1_795_000_000_000_000_000  # ns
TRACE = "5b8efff798038103d269b633813fc60c"


def attrs(**values: Any) -> list[dict[str, Any]]:
    """OTLP ``[{key, value}]`` attributes; keys spelled with ``__`` get a dot."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            v: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            v = {"intValue": str(value)}
        elif isinstance(value, list):
            v = {"arrayValue": {"values": [{"stringValue": x} for x in value]}}
        else:
            v = {"stringValue": value}
        out.append({"key": key.replace("__", "."), "value": v})
    return out


def span(
    span_id: str,
    parent: str | None = None,
    *,
    name: str = "work",
    kind: int = 1,
    start_s: float = 0.0,
    end_s: float | None = 1.0,
    trace: str = TRACE,
    error: bool = False,
    exception: tuple[str, str] | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """One OTLP span, times in seconds after ``T0``."""
    out: dict[str, Any] = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(T0 + int(start_s * 1e9)),
        "attributes": attrs(**attributes),
        "status": {"code": 2} if error else {},
    }
    if parent:
        out["parentSpanId"] = parent
    if end_s is not None:
        out["endTimeUnixNano"] = str(T0 + int(end_s * 1e9))
    if exception:
        out["events"] = [
            {
                "name": "exception",
                "timeUnixNano": out.get("endTimeUnixNano", out["startTimeUnixNano"]),
                "attributes": attrs(exception__type=exception[0], exception__message=exception[1]),
            }
        ]
    return out


def request_root(span_id: str, request_id: str = "req-x", end_s: float = 2.0) -> dict[str, Any]:
    """The SERVER span of one request to ``/predict`` answered 200, carrying its request id."""
    return span(
        span_id,
        name="POST /predict",
        kind=2,
        end_s=end_s,
        http__route="/predict",
        fal__request_id=request_id,
        http__response__status_code=200,
    )


def traces(
    spans: list[Any],
    service: str = "acme/app",
    runner: str = "runner-1",
    *,
    resource_key: str = "resourceSpans",
    scope_key: str = "scopeSpans",
) -> dict[str, Any]:
    """One ``TracesData`` object of one resource."""
    return {
        resource_key: [
            {
                "resource": {
                    "attributes": attrs(service__name=service, service__instance__id=runner)
                },
                scope_key: [{"scope": {"name": "test"}, "spans": spans}],
            }
        ]
    }


def b64(hex_id: str) -> str:
    """A hex id as protobuf's JSON encoding writes it (base64)."""
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def write_lines(path: Path, *docs: Any) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path
