"""OpenTelemetry spans resolved over every imported file (set-based SQL, after each import).

:mod:`.otel` maps one file; a span's parent, its request root or the log records of its trace
may sit in another file (rotation, one file per signal or per service, a late export). After
each OTel file is imported, :func:`resolve_spans` takes every trace that file touched and,
over all imported spans of those traces (any file, any import):

1. **Duplicates** (the same trace id and span id in several files: exporters retry) keep one
   copy: the one with the most rows (a finished copy beats an unfinished one), else the first.
2. **Owners**: each span's request root is the topmost server span above it (recursive walk
   over parent ids, bounded depth).
3. **Re-mapping**, only where the answer changed:
   - a request root that now has a server span above it (a downstream service's SERVER span
     whose caller's CLIENT span came in another file) becomes child work of that request: its
     handler events turn into child events and its inferred gateway events are deleted;
   - child work takes its (new) root's request, runner, app and endpoint;
   - a span that was "outside any request" and now has a root becomes child work: its ``log``
     row becomes ``child.started`` and its end row is added (from ``extra.span_end``);
   - log records take their span's (or their trace's) request, unless their own attributes
     name one.

Every step is one statement over whole tables (no loop per span); rows keep their file and
line. Traces the new file did not touch are not visited (incremental).
"""

from __future__ import annotations

import duckdb

from analyzer.store import next_event_id

_TOUCHED = """
CREATE OR REPLACE TEMP TABLE _otel_traces AS
SELECT DISTINCT extra->>'trace_id' AS trace_id FROM events
WHERE origin = 'otel' AND import_id = ? AND extra->>'trace_id' IS NOT NULL
"""

_SPAN_ROWS = """
CREATE OR REPLACE TEMP TABLE _otel_rows AS
SELECT e.event_id, e.import_id, e.file, e.event, e.inferred,
       e.extra->>'trace_id' AS trace_id, e.extra->>'span_id' AS span_id
FROM events e JOIN _otel_traces t ON t.trace_id = e.extra->>'trace_id'
WHERE e.origin = 'otel' AND e.extra->>'span_id' IS NOT NULL
  AND coalesce(e.extra->>'otel_role', '') <> 'log_record'
"""

_DEDUP = """
DELETE FROM events WHERE event_id IN (
    WITH copies AS (
        SELECT trace_id, span_id, import_id, file, count(*) AS n, min(event_id) AS first_id
        FROM _otel_rows GROUP BY ALL
    ),
    keep AS (
        SELECT trace_id, span_id, arg_max(struct_pack(import_id, file),
                                          n * 1e12 - first_id) AS k
        FROM copies GROUP BY ALL HAVING count(*) > 1
    )
    SELECT r.event_id FROM _otel_rows r JOIN keep USING (trace_id, span_id)
    WHERE r.import_id <> keep.k.import_id OR r.file <> keep.k.file
)
"""

_SPANS = """
CREATE OR REPLACE TEMP TABLE _otel_spans AS
SELECT e.extra->>'trace_id' AS trace_id, e.extra->>'span_id' AS span_id,
       e.extra->>'parent_id' AS parent_id, e.extra->>'span_kind' AS span_kind,
       e.extra->>'otel_role' AS role,
       e.extra->>'otel_role' IN ('root', 'cancel') OR e.extra->>'span_kind' = 'server'
           AS is_server,
       e.event_id, e.request_id, e.runner_id, e.app, e.endpoint
FROM events e JOIN _otel_traces t ON t.trace_id = e.extra->>'trace_id'
WHERE e.origin = 'otel'
  AND e.event IN ('handler.started', 'child.started', 'log', 'cancel.received')
  AND e.extra->>'otel_role' IN ('root', 'child', 'orphan', 'cancel')
"""

_MAX_DEPTH = 64

_OWNERS = f"""
CREATE OR REPLACE TEMP TABLE _otel_fix AS
WITH RECURSIVE up(trace_id, span_id, cur, depth, top_id) AS (
    SELECT trace_id, span_id, parent_id, 0, NULL::VARCHAR FROM _otel_spans
    UNION ALL
    SELECT up.trace_id, up.span_id, p.parent_id, up.depth + 1,
           CASE WHEN p.is_server THEN p.span_id ELSE up.top_id END
    FROM up JOIN _otel_spans p ON p.trace_id = up.trace_id AND p.span_id = up.cur
    WHERE up.depth < {_MAX_DEPTH} AND p.span_id <> up.span_id
),
owner AS (
    SELECT trace_id, span_id, arg_max(top_id, depth) FILTER (WHERE top_id IS NOT NULL) AS top_id
    FROM up GROUP BY ALL
)
SELECT s.trace_id, s.span_id, s.role, s.span_kind, s.event_id AS start_id,
       o.request_id, o.runner_id, o.app, o.endpoint
FROM _otel_spans s
JOIN owner w USING (trace_id, span_id)
JOIN _otel_spans o ON o.trace_id = w.trace_id AND o.span_id = w.top_id
WHERE w.top_id IS NOT NULL
  AND o.role = 'root'
  AND (s.role IN ('root', 'orphan') OR s.request_id IS DISTINCT FROM o.request_id
       OR s.runner_id IS DISTINCT FROM o.runner_id)
  AND s.role <> 'cancel'
"""

_FIX_ROWS = """
CREATE OR REPLACE TEMP TABLE _otel_fix_rows AS
SELECT e.event_id, e.event, e.inferred, e.source, f.*
FROM events e JOIN _otel_fix f
  ON f.trace_id = e.extra->>'trace_id' AND f.span_id = e.extra->>'span_id'
WHERE e.origin = 'otel' AND coalesce(e.extra->>'otel_role', '') <> 'log_record'
"""

_DROP_GATEWAY = """
DELETE FROM events WHERE event_id IN (
    SELECT event_id FROM _otel_fix_rows WHERE role = 'root' AND source = 'gateway' AND inferred
)
"""

# handler events of a demoted root -> child events (one statement for every kind of row)
_DEMOTE = """
UPDATE events AS e
SET event = CASE e.event WHEN 'handler.started' THEN 'child.started'
                         WHEN 'handler.cancelled' THEN 'child.cancelled'
                         ELSE 'child.finished' END,
    child_id = f.span_id,
    kind = CASE WHEN e.event = 'handler.started'
                THEN CASE f.span_kind WHEN 'client' THEN 'upstream' ELSE 'task' END END,
    name = CASE WHEN e.event = 'handler.started' THEN e.extra->>'span_name' END,
    outcome = CASE e.event WHEN 'handler.finished' THEN 'ok'
                           WHEN 'handler.error' THEN
                               CASE WHEN lower(coalesce(e.exc_type, '')) LIKE '%timeout%'
                                    THEN 'timeout' ELSE 'error' END END,
    status = NULL,
    request_id = f.request_id, runner_id = f.runner_id, app = f.app, endpoint = f.endpoint,
    extra = json_merge_patch(e.extra, '{"otel_role": "child", "demoted_from": "root"}')
FROM _otel_fix_rows f
WHERE e.event_id = f.event_id AND f.role = 'root' AND f.source = 'runner'
  AND e.event IN ('handler.started', 'handler.finished', 'handler.error', 'handler.cancelled')
"""

_RECHILD = """
UPDATE events AS e
SET request_id = f.request_id, runner_id = f.runner_id, app = f.app, endpoint = f.endpoint
FROM _otel_fix_rows f
WHERE e.event_id = f.event_id AND f.role = 'child'
"""

_ORPHAN_ENDS = """
INSERT INTO events (event_id, ts, source, event, request_id, runner_id, app, endpoint,
                    child_id, outcome, exc_type, message, ts_raw, ts_naive, extra, origin,
                    inferred, file, line_no, import_id)
SELECT ? + row_number() OVER (ORDER BY e.event_id) - 1,
       CAST(e.extra->'span_end'->>'ts' AS TIMESTAMPTZ), 'runner', e.extra->'span_end'->>'event',
       f.request_id, f.runner_id, f.app, f.endpoint, f.span_id,
       e.extra->'span_end'->>'outcome', e.extra->'span_end'->>'exc_type',
       e.extra->'span_end'->>'message', e.extra->'span_end'->>'ts', false,
       json_object('trace_id', f.trace_id, 'span_id', f.span_id,
                   'parent_id', e.extra->>'parent_id', 'span_kind', f.span_kind,
                   'span_name', e.extra->>'span_name', 'otel_role', 'child'),
       'otel', false, e.file, e.line_no, e.import_id
FROM events e JOIN _otel_fix f ON f.start_id = e.event_id
WHERE f.role = 'orphan' AND json_type(e.extra->'span_end') = 'OBJECT'
"""

_ORPHAN_STARTS = """
UPDATE events AS e
SET event = 'child.started', child_id = f.span_id, kind = e.extra->>'child_kind',
    name = e.extra->>'span_name', deadline_s = TRY_CAST(e.extra->>'deadline_s' AS DOUBLE),
    level = NULL, message = NULL,
    request_id = f.request_id, runner_id = f.runner_id, app = f.app, endpoint = f.endpoint,
    extra = json_merge_patch(e.extra, '{"otel_role": "child", "span_end": null}')
FROM _otel_fix f
WHERE e.event_id = f.start_id AND f.role = 'orphan'
"""

_LOG_RECORDS = """
UPDATE events AS e
SET request_id = m.request_id
FROM (
    SELECT l.event_id,
           coalesce(arg_min(r.request_id, r.event_id) FILTER (WHERE r.span_id = l.span_id),
                    arg_min(r.request_id, r.event_id)) AS request_id
    FROM (SELECT event_id, extra->>'trace_id' AS trace_id, extra->>'span_id' AS span_id
          FROM events JOIN _otel_traces t ON t.trace_id = events.extra->>'trace_id'
          WHERE origin = 'otel' AND event = 'log' AND extra->>'otel_role' = 'log_record'
            AND extra->>'request_id_from' IS NULL) l
    JOIN (SELECT extra->>'trace_id' AS trace_id, extra->>'span_id' AS span_id, request_id,
                 event_id
          FROM events JOIN _otel_traces t ON t.trace_id = events.extra->>'trace_id'
          WHERE origin = 'otel' AND request_id IS NOT NULL
            AND event IN ('handler.started', 'child.started')) r
      ON r.trace_id = l.trace_id
    GROUP BY l.event_id
) AS m
WHERE e.event_id = m.event_id AND m.request_id IS NOT NULL
  AND e.request_id IS DISTINCT FROM m.request_id
"""

_CLEANUP = (
    "DROP TABLE IF EXISTS _otel_traces; DROP TABLE IF EXISTS _otel_rows; "
    "DROP TABLE IF EXISTS _otel_spans; DROP TABLE IF EXISTS _otel_fix; "
    "DROP TABLE IF EXISTS _otel_fix_rows"
)


def resolve_spans(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Resolve the traces touched by import ``import_id`` over every imported span."""
    con.execute(_TOUCHED, [import_id])
    try:
        if not con.execute("SELECT count(*) FROM _otel_traces").fetchall()[0][0]:
            return
        con.execute(_SPAN_ROWS)
        con.execute(_DEDUP)
        con.execute(_SPANS)
        con.execute(_OWNERS)
        con.execute(_FIX_ROWS)
        con.execute(_DROP_GATEWAY)
        con.execute(_DEMOTE)
        con.execute(_RECHILD)
        con.execute(_ORPHAN_ENDS, [next_event_id(con)])
        con.execute(_ORPHAN_STARTS)
        con.execute(_LOG_RECORDS)
    finally:
        con.execute(_CLEANUP)
