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

The mapping is SQL over blocks of lines (:func:`map_blocks`, set-based: one regular expression
splits every line, the response flags become a list, attempts before the last one, known only by
their count, are generated with ``range``; a naive timestamp is marked on the line's
``request.received`` only), the format's only parse path (:mod:`.sql_lines`). The line pattern is
written once (:data:`LINE`) and sniffing reads the same text. Golden fixtures
(tests/formats/golden/envoy-*.json) are its oracle.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from analyzer.importers.formats.base import Format
from analyzer.importers.formats.sql_lines import Rejections, block_mapper, sql_parser

NAME = "envoy"

LINE = (
    r'^\[([^\]]+)\] "([^"]*)" (\d+) (\S+) (?:([^\s"]+) ([^\s"]+) "([^"]*)" )?'
    r"(\d+|-) (\d+|-) (\d+|-) (\d+|-) "
    r'"([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"(.*)$'
)

# larger values are no real attempt count / duration (they would overflow, or explode `range`)
MAX_ATTEMPTS = 1000
MAX_DURATION_MS = 7 * 24 * 3600 * 1000
_LIMITS = {"max_attempts": MAX_ATTEMPTS, "max_ms": MAX_DURATION_MS}

PARSE_SQL = """
CREATE OR REPLACE TEMP TABLE _ev AS
WITH m AS (
    SELECT line_no, line,
           regexp_extract(line, $line, ['start', 'request', 'code', 'flags', 'details',
               'ctd', 'utfr', 'rx', 'tx',
               'duration', 'ust', 'xff', 'agent', 'rid', 'authority', 'host', 'rest']) AS g
    FROM _ev_lines WHERE trim(line) <> '' AND regexp_matches(line, $line)
),
p AS (
    SELECT line_no, g,
           TRY_CAST(g.start AS TIMESTAMPTZ) AS start_ts,
           NOT regexp_matches(g.start, '(Z|z|[+-]\\d\\d:?\\d\\d)$') AS naive,
           CAST(g.code AS INTEGER) AS code,
           list_filter(string_split(g.flags, ','), lambda f: f <> '-') AS flags,
           coalesce(TRY_CAST(g.duration AS BIGINT), 0) AS duration_ms,
           TRY_CAST(g.ust AS BIGINT) AS ust_ms,
           string_split(trim(g.rest), ' ') AS tail,
           CASE WHEN regexp_matches(coalesce(string_split(trim(g.rest), ' ')[1], ''), '^\\d+$')
                THEN coalesce(TRY_CAST(string_split(trim(g.rest), ' ')[1] AS BIGINT),
                              9223372036854775807) END AS attempt_count,
           nullif(nullif(g.host, '-'), '') AS host,
           nullif(split_part(split_part(g.request, ' ', 2), '?', 1), '') AS endpoint,
           nullif(split_part(g.request, ' ', 1), '') AS method
    FROM m
)
SELECT *, CASE WHEN duration_ms BETWEEN 0 AND $max_ms
                 THEN start_ts + to_microseconds(duration_ms * 1000) END AS end_ts,
       CASE WHEN attempt_count <= $max_attempts THEN attempt_count::INTEGER END AS attempts,
       CASE WHEN start_ts IS NULL THEN 'invalid field: invalid ts: ''' || g.start || ''''
            WHEN attempt_count > $max_attempts
            THEN 'implausible attempt count: ' || left(tail[1], 30) || ' (at most '
                 || $max_attempts || ')'
            WHEN duration_ms NOT BETWEEN 0 AND $max_ms
            THEN 'implausible duration: ' || g.duration || ' ms' END AS problem,
       coalesce(nullif(nullif(g.rid, '-'), ''), 'envoy:' || $file_name || ':' || line_no)
           AS request_id,
       nullif(nullif(g.authority, '-'), '') AS app,
       CASE WHEN list_contains(flags, 'UT') THEN 'request_timeout'
            WHEN list_contains(flags, 'UF') THEN 'runner_connection_error'
            WHEN list_contains(flags, 'UC') OR list_contains(flags, 'UR')
                 THEN 'runner_disconnected' END AS failed,
       len(list_intersect(flags, ['UH', 'NR', 'UO', 'NC'])) = 0 AND host IS NOT NULL
           AS dispatched,
       list_contains(flags, 'DC') AS dc
FROM p
"""

BAD_SQL = """
SELECT l.line_no, left(l.line, 2000), coalesce(e.problem, 'not an Envoy default-format line')
FROM _ev_lines l LEFT JOIN _ev e ON e.line_no = l.line_no
WHERE trim(l.line) <> '' AND (e.line_no IS NULL OR e.problem IS NOT NULL)
ORDER BY l.line_no
"""

ROWS_SQL = """
WITH r AS (
    SELECT *, coalesce(nullif(attempts, 0), CASE WHEN list_contains(flags, 'URX') THEN 2 ELSE 1 END)
                  AS n_att
    FROM _ev WHERE problem IS NULL
),
ev AS (
    SELECT line_no, 0 AS seq, start_ts AS ts, 'request.received' AS event, request_id, endpoint,
           app, NULL::INTEGER AS attempt, NULL::VARCHAR AS runner_id, NULL::INTEGER AS status,
           NULL::VARCHAR AS error_type, g.start AS ts_raw, naive, false AS inferred,
           json_object('method', method,
                       'response_flags', CASE WHEN len(flags) > 0 THEN list_sort(flags) END,
                       'upstream_service_time_ms', ust_ms, 'attempt_count', attempts,
                       'x_forwarded_for', nullif(nullif(g.xff, '-'), ''),
                       'response_code_details', nullif(nullif(g.details, '-'), ''),
                       'upstream_transport_failure_reason', nullif(nullif(g.utfr, '-'), ''),
                       'tail', CASE WHEN len(tail) > 1 THEN tail[2:] END)::VARCHAR AS extra
    FROM r
    UNION ALL
    SELECT line_no, k, start_ts, 'attempt.dispatched', request_id, endpoint, app, k, NULL, NULL,
           NULL, g.start, false, true, NULL
    FROM (SELECT *, unnest(range(1, n_att)) AS k FROM r WHERE dispatched)
    UNION ALL
    SELECT line_no, n_att, greatest(start_ts, CASE WHEN ust_ms > 0
               THEN end_ts - to_microseconds(ust_ms * 1000) ELSE start_ts END),
           'attempt.dispatched', request_id, endpoint, app, n_att, host, NULL, NULL, g.start,
           false, false, NULL
    FROM r WHERE dispatched
    UNION ALL
    SELECT line_no, n_att + 1, end_ts,
           CASE WHEN failed IS NOT NULL THEN 'attempt.failed' ELSE 'attempt.finished' END,
           request_id, endpoint, app, n_att, host,
           CASE WHEN failed IS NULL THEN code END, failed, g.start, false, false, NULL
    FROM r WHERE dispatched AND (failed IS NOT NULL OR (NOT dc AND code > 0))
    UNION ALL
    SELECT line_no, 100000, end_ts, 'request.client_disconnected', request_id, endpoint, app,
           NULL, NULL, NULL, NULL, g.start, false, false, NULL
    FROM r WHERE dc
    UNION ALL
    SELECT line_no, 100001, end_ts, 'request.completed', request_id, endpoint, app, NULL, NULL,
           CASE WHEN code > 0 THEN code ELSE 499 END,
           CASE WHEN dc THEN 'client_disconnected' END, g.start, false, false, NULL
    FROM r
)
SELECT ts, 'gateway' AS source, event, app, endpoint, request_id, runner_id, attempt, status,
       error_type, ts_raw, naive AS ts_naive, extra, inferred, line_no
FROM ev ORDER BY line_no, seq
"""


def _steps(con: duckdb.DuckDBPyConnection, file_name: str) -> tuple[pa.Table, Rejections]:
    """One block of lines (``_ev_lines``): (mapped rows, rejected (line_no, raw, reason))."""
    con.execute(PARSE_SQL, {"line": LINE, "file_name": file_name, **_LIMITS})
    bad = con.execute(BAD_SQL).fetchall()
    rows = con.sql(ROWS_SQL).to_arrow_table()
    return rows, [(int(r[0]), str(r[1]), str(r[2])) for r in bad]


map_blocks = block_mapper("_ev_lines", ("_ev",), _steps)
"""Blocks of lines -> (mapped rows as Arrow, rejected (line_no, raw, reason)), block by block."""


def sniff(head: str) -> bool:
    """The first non-blank line is an Envoy default-format access-log line."""
    for line in head.splitlines()[:5]:
        if line.strip():
            return re.match(LINE, line.rstrip("\r\n")) is not None
    return False


FORMAT = Format(
    name=NAME,
    description="Envoy access log, default format [+ %UPSTREAM_REQUEST_ATTEMPT_COUNT%], "
    "or Istio's sidecar default",
    sniff=sniff,
    parse=sql_parser(map_blocks),
    appendable=True,
    map_blocks=map_blocks,
)
