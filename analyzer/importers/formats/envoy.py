"""Envoy access logs in the default format, optionally followed by the attempt count.

Envoy's default format::

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
    %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"

Istio's sidecar (Envoy with Istio's own default, 1.8 on) inserts
``%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"``
after the flags and appends ``%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%
%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%``:
both are read (the three inserted fields go to ``extra``, the appended ones to ``extra.tail``;
Istio logs no attempt count, so a retried request shows only its last attempt unless the flags
say ``URX``).

And, recommended, `` %UPSTREAM_REQUEST_ATTEMPT_COUNT%`` appended (any further tokens are kept
in ``extra``). Envoy logs only the LAST upstream host: earlier attempts (attempt count > 1)
become ``attempt.dispatched`` without a runner or an answer (inferred). Response flags:

| flag | meaning | mapped to |
|---|---|---|
| UF | upstream connection failure | last attempt ``attempt.failed`` ``runner_connection_error`` |
| UC | upstream connection termination | ``attempt.failed`` ``runner_disconnected`` |
| UR | upstream remote reset | ``attempt.failed`` ``runner_disconnected`` |
| UT | upstream request timeout | ``attempt.failed`` ``request_timeout`` |
| URX | retry limit reached | (kept; the last answer is the final status) |
| UH, NR, UO | no healthy upstream / no route / overflow | no attempt at all |
| DC | downstream (client) connection termination | ``request.client_disconnected`` |

Request id: ``X-REQUEST-ID``; without one, ``envoy:<file name>:<line>``.

Imports use the same mapping written in SQL (:mod:`.envoy_sql`, block by block); :func:`parse`
is the reference it is tested against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    Row,
    TimestampError,
    as_str,
    make_row,
    parse_ts,
)
from analyzer.importers.formats.envoy_sql import map_blocks

NAME = "envoy"
_Q = r"\"(?P<{0}>[^\"]*)\""
LINE = re.compile(
    r"^\[(?P<start>[^\]]+)\] \"(?P<request>[^\"]*)\" (?P<code>\d+) (?P<flags>\S+) "
    r"(?:(?P<details>[^\s\"]+) (?P<ctd>[^\s\"]+) \"(?P<utfr>[^\"]*)\" )?"  # Istio 1.8+
    r"(?P<rx>\d+|-) (?P<tx>\d+|-) (?P<duration>\d+|-) (?P<ust>\d+|-) "
    + " ".join(_Q.format(n) for n in ("xff", "agent", "rid", "authority", "host"))
    + r"(?P<rest>.*)$"
)
_FAILED = {
    "UF": "runner_connection_error",
    "UC": "runner_disconnected",
    "UR": "runner_disconnected",
    "UT": "request_timeout",
}
_NO_ATTEMPT = {"UH", "NR", "UO", "NC"}


def sniff(head: str) -> bool:
    """The first non-blank line is an Envoy default-format access-log line."""
    for line in head.splitlines()[:5]:
        if line.strip():
            return LINE.match(line.rstrip("\r\n")) is not None
    return False


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map each access-log line (streaming)."""
    for line_no, raw in enumerate(lines, start=ctx.first_line):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            yield Rejected(line_no, line[:2000], "not an Envoy default-format line")
            continue
        try:
            yield from _map(match, line_no, ctx)
        except (TimestampError, ValueError) as exc:
            yield Rejected(line_no, line[:2000], f"invalid field: {exc}"[:200])


def _map(match: re.Match[str], line_no: int, ctx: ParseContext) -> Iterator[Row]:
    start, naive = parse_ts(match.group("start"))
    duration_ms = _int(match.group("duration")) or 0
    end = start + timedelta(milliseconds=duration_ms)
    upstream_ms = _int(match.group("ust"))
    flags = set(match.group("flags").split(",")) - {"-"}
    code = int(match.group("code"))
    tail = match.group("rest").split()
    attempts = int(tail[0]) if tail and tail[0].isdigit() else None
    method, _, target = match.group("request").partition(" ")
    path = target.split(" ", 1)[0].split("?", 1)[0] or None
    request_id = as_str(match.group("rid")) or f"envoy:{ctx.path.name}:{line_no}"
    host = as_str(match.group("host"))
    common: dict[str, Any] = {
        "line_no": line_no,
        "request_id": request_id,
        "endpoint": path,
        "app": as_str(match.group("authority")),
    }
    extra = {
        "method": method or None,
        "response_flags": sorted(flags) or None,
        "upstream_service_time_ms": upstream_ms,
        "attempt_count": attempts,
        "x_forwarded_for": as_str(match.group("xff")),
        "response_code_details": as_str(match.group("details")),
        "upstream_transport_failure_reason": as_str(match.group("utfr")),
        "tail": tail[1:] or None,
    }
    yield make_row(
        start,
        "gateway",
        "request.received",
        ts_raw=match.group("start"),
        ts_naive=naive,
        extra=extra,
        **common,
    )
    if host is not None and not flags & _NO_ATTEMPT:
        count = attempts or (2 if "URX" in flags else 1)
        for attempt in range(1, count):
            yield make_row(
                start, "gateway", "attempt.dispatched", attempt=attempt, inferred=True, **common
            )
        last_start = end - timedelta(milliseconds=upstream_ms) if upstream_ms else start
        last_start = max(last_start, start)
        base = dict(common, attempt=count, runner_id=host)
        yield make_row(last_start, "gateway", "attempt.dispatched", **base)
        failed = next((_FAILED[f] for f in ("UT", "UF", "UC", "UR") if f in flags), None)
        if failed is not None:
            yield make_row(end, "gateway", "attempt.failed", error_type=failed, **base)
        elif "DC" not in flags and code > 0:
            yield make_row(end, "gateway", "attempt.finished", status=code, **base)
    if "DC" in flags:
        yield make_row(end, "gateway", "request.client_disconnected", **common)
    status = code if code > 0 else 499
    yield make_row(
        end,
        "gateway",
        "request.completed",
        status=status,
        error_type="client_disconnected" if "DC" in flags else None,
        **common,
    )


def _int(text: str) -> int | None:
    return None if text in ("", "-") else int(text)


FORMAT = Format(
    name=NAME,
    description="Envoy access log, default format [+ %UPSTREAM_REQUEST_ATTEMPT_COUNT%], "
    "or Istio's sidecar default",
    sniff=sniff,
    parse=parse,
    appendable=True,
    map_blocks=map_blocks,
)
