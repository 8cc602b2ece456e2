"""nginx access logs: the combined format extended with the upstream lists.

The expected ``log_format`` (documented in docs/formats.md)::

    log_format analyzer '$remote_addr - $remote_user [$time_local] "$request" '
                        '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                        '"$upstream_addr" "$upstream_status" "$upstream_response_time" '
                        '$request_time $msec "$http_x_fal_request_id" $request_id '
                        '"$upstream_header_time"';

The three upstream lists are required (quoted or not); everything after them is optional, in
that order. ``"503, 503, 200"`` is three attempts (``, `` separates attempts, `` : ``
separates upstream groups after an internal redirect). Per line (one request):

- ``request.received`` at the end time minus ``$request_time`` (the end time is ``$msec``
  when present, else ``$time_local``, whole seconds);
- per attempt ``attempt.dispatched`` (runner id = the upstream address) and
  ``attempt.finished`` with its status, times from the cumulated ``$upstream_response_time``;
  a ``-`` status (no answer) is ``attempt.failed`` (``runner_connection_error``), or nothing
  when the client went away first;
- nginx's own failures: nginx writes an upstream status for attempts that got no answer:
  ``502`` (connection refused or reset, invalid header) and ``504`` (``proxy_read_timeout`` or
  ``proxy_connect_timeout`` expired). They are ``attempt.failed`` (``runner_connection_error``,
  ``request_timeout`` for 504), never app answers. ``$upstream_header_time`` tells them apart
  from an app that answered 502/504 itself: ``-`` = no response header came (nginx's own
  status), a time = the app's answer. Without that field an app's own 502/504 reads as nginx's;
- an item of ``$upstream_addr`` that is no address (``host:port``, ``[v6]:port``, ``unix:``)
  is an upstream GROUP name: nginx found no live server in it (``no live upstreams``), so no
  runner was reached: no attempt, the name is kept in ``extra.upstream_group``;
- status 499 (the client closed the connection): ``request.client_disconnected``;
- ``request.completed`` with ``$status``.

nginx's default ``combined`` format (no ``log_format``) is read too, but it shows only the
request: ``request.received`` = ``request.completed`` at ``$time_local`` (whole seconds, no
duration), the status and the path; no attempt, no upstream, no request id (the synthetic one).

Request id: ``$http_x_fal_request_id`` when sent, else nginx's ``$request_id``, else
``nginx:<file name>:<line>``. nginx does not kill upstreams: no termination is inferred.

Imports use the same mapping written in SQL (:mod:`.nginx_sql`, block by block); :func:`parse`
is the reference it is tested against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from analyzer.importers.formats.base import (
    Format,
    Item,
    ParseContext,
    Rejected,
    Row,
    as_str,
    make_row,
    parse_ts,
)
from analyzer.importers.formats.nginx_sql import map_blocks

NAME = "nginx"

_LIST = r"(?:\"(?P<{0}q>[^\"]*)\"|(?P<{0}u>[^\s,\"]+(?:(?:,| :) [^\s,\"]+)*))"
LINE = re.compile(
    r"^(?P<remote>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r"\"(?P<request>(?:[^\"\\]|\\.)*)\" (?P<status>\d{3}) (?P<bytes>\d+|-) "
    r"\"(?P<referer>(?:[^\"\\]|\\.)*)\" \"(?P<agent>(?:[^\"\\]|\\.)*)\""
    r"(?: "
    + _LIST.format("addr")
    + " "
    + _LIST.format("ustatus")
    + " "
    + _LIST.format("urt")
    + r")?(?P<rest>.*)$"
)
_TIME_LOCAL = "%d/%b/%Y:%H:%M:%S %z"
ADDRESS = re.compile(r"^(?:unix:.+|.+:\d+)$")
"""An upstream server's address; anything else in ``$upstream_addr`` is a group name."""
PROXY_FAILURES = {"502": "runner_connection_error", "504": "request_timeout"}
"""The upstream statuses nginx writes for its own failure to get an answer, as error types."""
_TOKEN = re.compile(r"\"([^\"]*)\"|(\S+)")


def sniff(head: str) -> bool:
    """The first non-blank line is a combined-format line, with the upstream lists or without
    anything after it (nginx's default ``combined`` format)."""
    for line in head.splitlines()[:5]:
        if line.strip():
            match = LINE.match(line.rstrip("\r\n"))
            if match is None:
                return False
            upstream = match.group("addrq") is not None or bool(match.group("addru"))
            return upstream or not match.group("rest").strip()
    return False


def split_list(value: str | None) -> list[str]:
    """An nginx upstream list (``a, b : c``) as its items; ``-`` items are kept as ``-``."""
    if value is None or not value.strip():
        return []
    return [part.strip() for part in re.split(r",|\s:\s", value) if part.strip()]


def parse(lines: Iterable[str], ctx: ParseContext) -> Iterator[Item]:
    """Map each access-log line (streaming)."""
    for line_no, raw in enumerate(lines, start=ctx.first_line):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            yield Rejected(line_no, line[:2000], "not an nginx combined+upstream line")
            continue
        try:
            yield from _map(match, line_no, ctx)
        except ValueError as exc:
            yield Rejected(line_no, line[:2000], f"invalid field: {exc}"[:200])


def _group(match: re.Match[str], name: str) -> str | None:
    quoted = match.group(name + "q")
    return quoted if quoted is not None else match.group(name + "u")


def _map(match: re.Match[str], line_no: int, ctx: ParseContext) -> Iterator[Row]:
    rest = [q if q else u for q, u in _TOKEN.findall(match.group("rest"))]
    request_time = _float(rest[0]) if len(rest) > 0 else None
    msec = _float(rest[1]) if len(rest) > 1 else None
    fal_id = as_str(rest[2]) if len(rest) > 2 else None
    nginx_id = as_str(rest[3]) if len(rest) > 3 else None
    header_times = split_list(rest[4]) if len(rest) > 4 else []
    if msec is not None:
        end, _ = parse_ts(msec)
    else:
        end = datetime.strptime(match.group("time"), _TIME_LOCAL)
    start = end - timedelta(seconds=request_time or 0.0)
    method, _, target = match.group("request").partition(" ")
    path = target.split(" ", 1)[0].split("?", 1)[0] or None
    request_id = fal_id or nginx_id or f"nginx:{ctx.path.name}:{line_no}"
    status = int(match.group("status"))
    common: dict[str, Any] = {
        "line_no": line_no,
        "request_id": request_id,
        "endpoint": path,
        "ts_raw": match.group("time") if msec is None else rest[1],
    }
    extra = {
        "remote_addr": match.group("remote"),
        "method": method or None,
        "user_agent": as_str(match.group("agent")),
        "bytes_sent": match.group("bytes"),
        "request_time": request_time,
    }
    addrs = split_list(_group(match, "addr"))
    extra["upstream_group"] = [a for a in addrs if not ADDRESS.match(a)] or None
    yield make_row(start, "gateway", "request.received", extra=extra, **common)
    statuses = split_list(_group(match, "ustatus"))
    times = split_list(_group(match, "urt"))
    clock = start
    for index, addr in enumerate(addrs):
        attempt = index + 1
        ustatus = statuses[index] if index < len(statuses) else "-"
        elapsed = _float(times[index]) if index < len(times) else None
        base = dict(common, attempt=attempt, runner_id=addr)
        dispatched_at = clock
        clock = min(clock + timedelta(seconds=elapsed or 0.0), end)
        if not ADDRESS.match(addr):
            continue  # a group with no live server: nothing was dispatched
        yield make_row(dispatched_at, "gateway", "attempt.dispatched", **base)
        header = header_times[index] if index < len(header_times) else None
        own = own_failure(ustatus, header)
        if ustatus.isdigit() and not own:
            yield make_row(clock, "gateway", "attempt.finished", status=int(ustatus), **base)
        elif own or not (status == 499 and index == len(addrs) - 1):
            error = PROXY_FAILURES.get(ustatus, "runner_connection_error")
            yield make_row(clock, "gateway", "attempt.failed", error_type=error, **base)
    if status == 499:
        yield make_row(end, "gateway", "request.client_disconnected", **common)
    yield make_row(
        end,
        "gateway",
        "request.completed",
        status=status,
        error_type="client_disconnected" if status == 499 else None,
        **common,
    )


def own_failure(ustatus: str, header_time: str | None) -> bool:
    """Whether an attempt's upstream status is nginx's own (no response header came): told by
    its ``$upstream_header_time`` (``-``) when logged, else by the status (502, 504)."""
    if not ustatus.isdigit():
        return False
    if header_time is not None:
        return header_time == "-"
    return ustatus in PROXY_FAILURES


def _float(text: str | None) -> float | None:
    if text is None or text in ("", "-"):
        return None
    return float(text)


FORMAT = Format(
    name=NAME,
    description="nginx access log: combined [+ $upstream_addr $upstream_status "
    '$upstream_response_time [$request_time $msec "$http_x_fal_request_id" $request_id '
    '"$upstream_header_time"]]',
    sniff=sniff,
    parse=parse,
    appendable=True,
    map_blocks=map_blocks,
)
