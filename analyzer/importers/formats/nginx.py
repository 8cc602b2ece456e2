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

The mapping is SQL over blocks of lines (:func:`map_blocks`, set-based: one regular expression
splits every line, the upstream lists are unnested with their positions, the attempt times are
running sums of ``$upstream_response_time``), the format's only parse path
(:mod:`.sql_lines`); the line pattern is written once (:data:`COMBINED`, :data:`UPSTREAM`) and
sniffing reads the same text. Golden fixtures (tests/formats/golden/nginx-*.json) are its oracle.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from analyzer.importers.formats.base import Format
from analyzer.importers.formats.sql_lines import Rejections, block_mapper, sql_parser

NAME = "nginx"

COMBINED = (  # the combined format; group 9: what follows it
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(.*)$'
)
_LIST = r'(?:"([^"]*)"|([^\s,"]+(?:(?:,| :) [^\s,"]+)*))'
UPSTREAM = r"^ " + _LIST + " " + _LIST + " " + _LIST + r"(.*)$"
ADDRESS = r"^(?:unix:.+|.+:\d+)$"
"""An upstream server's address; any other item of ``$upstream_addr`` is a group name."""

PARSE_SQL = """
CREATE OR REPLACE TEMP TABLE _ng AS
WITH m AS (
    SELECT line_no, line,
           regexp_matches(line, $combined) AS ok,
           regexp_extract(line, $combined,
               ['remote', 'user', 'time', 'request', 'status', 'bytes', 'referer', 'agent',
                'rest']) AS c
    FROM _ng_lines WHERE trim(line) <> ''
),
u AS (
    SELECT *, regexp_matches(c.rest, $upstream) AS has_up,
           regexp_extract(c.rest, $upstream,
               ['aq', 'au', 'sq', 'su', 'tq', 'tu', 'tail']) AS up
    FROM m WHERE ok
),
v AS (
    SELECT line_no, line, c, has_up,
           CASE WHEN has_up THEN coalesce(nullif(up.aq, ''), up.au) END AS addr_list,
           CASE WHEN has_up THEN coalesce(nullif(up.sq, ''), up.su) END AS status_list,
           CASE WHEN has_up THEN coalesce(nullif(up.tq, ''), up.tu) END AS time_list,
           regexp_extract_all(CASE WHEN has_up THEN up.tail ELSE c.rest END,
                              '"[^"]*"|\\S+') AS tail
    FROM u
)
SELECT line_no, c.remote AS remote, c.time AS time_local, c.request AS request,
       CAST(c.status AS INTEGER) AS status, c.bytes AS bytes_sent, c.agent AS agent,
       addr_list, status_list, time_list,
       TRY_CAST(nullif(tail[1], '-') AS DOUBLE) AS request_time,
       TRY_CAST(nullif(tail[2], '-') AS DOUBLE) AS msec, tail[2] AS msec_raw,
       nullif(nullif(trim(tail[3], '"'), '-'), '') AS fal_id,
       nullif(nullif(trim(tail[4], '"'), '-'), '') AS nginx_id,
       nullif(trim(tail[5], '"'), '') AS header_list
FROM v
"""

# a larger $request_time (seconds) is no real duration (and would overflow the arithmetic)
MAX_REQUEST_S = 7 * 24 * 3600

REQ_SQL = """
CREATE OR REPLACE TEMP TABLE _ng_req AS
SELECT *,
       coalesce(fal_id, nginx_id, 'nginx:' || $file_name || ':' || line_no) AS request_id,
       nullif(split_part(split_part(request, ' ', 2), '?', 1), '') AS endpoint,
       nullif(split_part(request, ' ', 1), '') AS method,
       CASE WHEN msec IS NULL THEN strptime(time_local, '%d/%b/%Y:%H:%M:%S %z')
            WHEN isfinite(msec) AND abs(msec) < 1e11 THEN to_timestamp(msec) END AS end_ts,
       CASE WHEN msec IS NOT NULL AND NOT (isfinite(msec) AND abs(msec) < 1e11)
            THEN 'implausible $msec: ' || left(msec_raw, 40)
            WHEN request_time IS NOT NULL AND NOT (request_time BETWEEN 0 AND $max_s)
            THEN 'implausible $request_time: ' || request_time END AS problem,
       CASE WHEN msec IS NOT NULL THEN msec_raw ELSE time_local END AS ts_raw
FROM _ng
"""

BAD_SQL = """
SELECT line_no, left(line, 2000), 'not an nginx combined+upstream line' FROM _ng_lines
WHERE trim(line) <> '' AND NOT regexp_matches(line, $combined)
UNION ALL
SELECT l.line_no, left(l.line, 2000), r.problem
FROM _ng_req r JOIN _ng_lines l ON l.line_no = r.line_no WHERE r.problem IS NOT NULL
ORDER BY line_no
"""

OK_SQL = """
CREATE OR REPLACE TEMP TABLE _ng_ok AS  -- the lines kept, with their start time
SELECT *, end_ts - to_microseconds(CAST(round(coalesce(request_time, 0) * 1e6) AS BIGINT))
              AS start_ts
FROM _ng_req WHERE problem IS NULL
"""

ATT_SQL = """
CREATE OR REPLACE TEMP TABLE _ng_att AS  -- one row per upstream list item: an attempt or not
WITH lists AS (
    SELECT line_no, request_id, endpoint, ts_raw, status AS final_status, start_ts, end_ts,
           string_split_regex(trim(addr_list), ',\\s*|\\s+:\\s+') AS addrs,
           string_split_regex(trim(status_list), ',\\s*|\\s+:\\s+') AS statuses,
           string_split_regex(trim(time_list), ',\\s*|\\s+:\\s+') AS times,
           string_split_regex(trim(header_list), ',\\s*|\\s+:\\s+') AS headers
    FROM _ng_ok WHERE addr_list IS NOT NULL AND trim(addr_list) <> ''
),
att0 AS (
    SELECT *, unnest(addrs) AS addr, unnest(range(1, len(addrs) + 1)) AS idx FROM lists
),
att AS (
    SELECT line_no, request_id, endpoint, ts_raw, final_status, start_ts, end_ts, addr, idx,
           len(addrs) AS n, trim(statuses[idx]) AS ustatus,
           nullif(trim(headers[idx]), '') AS uheader,
           CASE WHEN TRY_CAST(times[idx] AS DOUBLE) BETWEEN 0 AND 1e7
                THEN TRY_CAST(times[idx] AS DOUBLE) END AS utime
    FROM att0
),
timed AS (
    SELECT *,
           sum(coalesce(utime, 0)) OVER (PARTITION BY line_no ORDER BY idx) AS cum,
           regexp_matches(trim(addr), $address) AS is_addr
    FROM att
),
judged AS (
    -- nginx's own status (502 refused/reset/invalid header, 504 timed out: no response header
    -- came) is no app answer; $upstream_header_time '-' says so when logged (module docstring)
    SELECT *,
           coalesce(regexp_matches(ustatus, '^\\d+$')
                    AND CASE WHEN uheader IS NOT NULL THEN uheader = '-'
                             ELSE ustatus IN ('502', '504') END, false) AS proxy_failed,
           coalesce(regexp_matches(ustatus, '^\\d+$'), false) AS numeric_status
    FROM timed
)
SELECT *, numeric_status AND NOT proxy_failed AS answered FROM judged
"""

ROWS_SQL = """
WITH ev AS (
    SELECT line_no, 0 AS seq, start_ts AS ts, 'request.received' AS event, request_id, endpoint,
           NULL::INTEGER AS attempt, NULL::VARCHAR AS runner_id, NULL::INTEGER AS status,
           NULL::VARCHAR AS error_type, ts_raw,
           json_object('remote_addr', remote, 'method', method, 'user_agent',
                       nullif(agent, '-'), 'bytes_sent', bytes_sent,
                       'request_time', request_time,
                       'upstream_group', nullif(list_filter(
                           string_split_regex(trim(coalesce(addr_list, '')), ',\\s*|\\s+:\\s+'),
                           lambda a: a <> '' AND NOT regexp_matches(a, $address)), []))::VARCHAR
                  AS extra
    FROM _ng_ok
    UNION ALL
    SELECT line_no, 2 * idx - 1, least(start_ts + to_microseconds(CAST(round(
               (cum - coalesce(utime, 0)) * 1e6) AS BIGINT)), end_ts),
           'attempt.dispatched', request_id, endpoint, idx, trim(addr), NULL, NULL, ts_raw, NULL
    FROM _ng_att WHERE is_addr
    UNION ALL
    SELECT line_no, 2 * idx, least(start_ts + to_microseconds(CAST(round(cum * 1e6) AS BIGINT)),
                                   end_ts),
           CASE WHEN answered THEN 'attempt.finished' ELSE 'attempt.failed' END,
           request_id, endpoint, idx, trim(addr),
           CASE WHEN answered THEN TRY_CAST(ustatus AS INTEGER) END,
           CASE WHEN answered THEN NULL WHEN proxy_failed AND ustatus = '504'
                THEN 'request_timeout' ELSE 'runner_connection_error' END,
           ts_raw, NULL
    FROM _ng_att
    WHERE is_addr AND (answered OR proxy_failed OR NOT (final_status = 499 AND idx = n))
    UNION ALL
    SELECT line_no, 100000, end_ts, 'request.client_disconnected', request_id, endpoint,
           NULL, NULL, NULL, NULL, ts_raw, NULL
    FROM _ng_ok WHERE status = 499
    UNION ALL
    SELECT line_no, 100001, end_ts, 'request.completed', request_id, endpoint, NULL, NULL,
           status, CASE WHEN status = 499 THEN 'client_disconnected' END, ts_raw, NULL
    FROM _ng_ok
)
SELECT ts, 'gateway' AS source, event, endpoint, request_id, runner_id, attempt, status,
       error_type, ts_raw, false AS ts_naive, extra, false AS inferred, line_no
FROM ev ORDER BY line_no, seq
"""


def _steps(con: duckdb.DuckDBPyConnection, file_name: str) -> tuple[pa.Table, Rejections]:
    """One block of lines (``_ng_lines``): (mapped rows, rejected (line_no, raw, reason))."""
    con.execute(PARSE_SQL, {"combined": COMBINED, "upstream": UPSTREAM})
    con.execute(REQ_SQL, {"file_name": file_name, "max_s": MAX_REQUEST_S})
    bad = con.execute(BAD_SQL, {"combined": COMBINED}).fetchall()
    con.execute(OK_SQL)
    con.execute(ATT_SQL, {"address": ADDRESS})
    rows = con.sql(ROWS_SQL, params={"address": ADDRESS}).to_arrow_table()
    return rows, [(int(r[0]), str(r[1]), str(r[2])) for r in bad]


map_blocks = block_mapper("_ng_lines", ("_ng", "_ng_req", "_ng_ok", "_ng_att"), _steps)
"""Blocks of lines -> (mapped rows as Arrow, rejected (line_no, raw, reason)), block by block."""


def sniff(head: str) -> bool:
    """The first non-blank line is a combined-format line, with the upstream lists or without
    anything after it (nginx's default ``combined`` format)."""
    for line in head.splitlines()[:5]:
        if line.strip():
            match = re.match(COMBINED, line.rstrip("\r\n"))
            if match is None:
                return False
            rest = match.group(9)
            return re.match(UPSTREAM, rest) is not None or not rest.strip()
    return False


FORMAT = Format(
    name=NAME,
    description="nginx access log: combined [+ $upstream_addr $upstream_status "
    '$upstream_response_time [$request_time $msec "$http_x_fal_request_id" $request_id '
    '"$upstream_header_time"]]',
    sniff=sniff,
    parse=sql_parser(map_blocks),
    appendable=True,
    map_blocks=map_blocks,
)
