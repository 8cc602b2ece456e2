"""Attribution of the platform's unlabelled log lines to the attempt they belong to (SQL).

On the platform the SDK clears a runner's log labels before printing a failed request's
traceback, so that traceback, uvicorn's error block and the request's access line carry no
request id (docs/formats.md). Such a line (``fal_logs`` row with ``extra.unlabelled``) is
attributed by runner and time to the attempt the request listing (``fal_requests``) shows on that
runner: the one attempt whose dispatch..answer window holds the line's time, else the one whose
window extended by :data:`SLACK_S` does. When several attempts qualify (a multiplexed runner)
or none, the line is left unattributed with its reason in ``extra.attribution``:

- ``labelled``: the line carried its request id;
- ``runner_time``: attributed here (``request_id``, ``attempt`` set; a traceback becomes its
  ``handler.error``, a failed cancel its ``cancel.received``);
- ``several requests in flight``, ``no request in flight``, ``runner not in the request
  listing``, ``no runner id``: unattributed; a traceback, a cancel or the upstream work a
  timeout traceback implies stays a ``log`` row (``extra.kind`` keeps what it would be).

Run after every import (the listing may come after the logs); idempotent.
"""

from __future__ import annotations

import duckdb

SLACK_S = 0.25
"""Seconds after an attempt's answer a line may still belong to it (uvicorn's error block and
the SDK's traceback are printed around the answer)."""

WINDOWS_SQL = """
CREATE OR REPLACE TEMP TABLE _fal_win AS  -- each attempt of the listing: runner, dispatch..answer
WITH att AS (
    SELECT request_id, attempt, runner_id,
           min(ts) FILTER (WHERE event = 'attempt.dispatched') AS s,
           max(ts) FILTER (WHERE event IN ('attempt.finished', 'attempt.failed')) AS e,
           any_value(endpoint) AS endpoint
    FROM events
    WHERE origin = 'fal_requests' AND runner_id IS NOT NULL AND attempt IS NOT NULL
    GROUP BY request_id, attempt, runner_id
)
SELECT request_id, attempt, runner_id, endpoint, s,
       coalesce(e, s + INTERVAL 1 DAY) AS e,
       row_number() OVER (ORDER BY runner_id, s, request_id, attempt) AS wid
FROM att WHERE s IS NOT NULL
"""

STEPS_SQL = """
-- per runner, the attempts in flight as a step function (strict: dispatch..answer; loose: the
-- answer + SLACK_S): each change point holds the count and the sum of the open windows' ids,
-- which IS the open window's id when the count is 1; a line looks up the step it falls in
CREATE OR REPLACE TEMP TABLE _fal_steps AS
WITH pts AS (
    SELECT runner_id, 0 AS loose, s AS ts, 1 AS d, wid FROM _fal_win
    UNION ALL SELECT runner_id, 0, e, -1, wid FROM _fal_win
    UNION ALL SELECT runner_id, 1, s, 1, wid FROM _fal_win
    UNION ALL SELECT runner_id, 1, e + to_seconds(?), -1, wid FROM _fal_win
),
run AS (
    SELECT runner_id, loose, ts, sum(d) OVER w AS n, sum(d * wid) OVER w AS ids,
           row_number() OVER w AS rn
    FROM pts
    WINDOW w AS (PARTITION BY runner_id, loose ORDER BY ts, d DESC, wid
                 ROWS UNBOUNDED PRECEDING)
)
SELECT runner_id, loose, ts, arg_max(n, rn) AS n, arg_max(ids, rn) AS ids
FROM run GROUP BY ALL
"""

VERDICT_SQL = """
CREATE OR REPLACE TEMP TABLE _fal_verdict AS  -- per unlabelled line: its request, or why not
WITH cand AS (
    SELECT event_id, runner_id, ts, extra->>'kind' AS kind
    FROM events
    WHERE origin = 'fal_logs' AND (extra->>'unlabelled') = 'true'
),
strict_steps AS (SELECT runner_id, ts, n, ids FROM _fal_steps WHERE loose = 0),
loose_steps AS (SELECT runner_id, ts, n, ids FROM _fal_steps WHERE loose = 1),
looked AS (
    SELECT c.event_id, st.n AS strict_n, st.ids AS strict_id, lo.n AS loose_n,
           lo.ids AS loose_id
    FROM cand c
    ASOF LEFT JOIN strict_steps st ON st.runner_id = c.runner_id AND c.ts >= st.ts
    ASOF LEFT JOIN loose_steps lo ON lo.runner_id = c.runner_id AND c.ts >= lo.ts
),
m AS (
    SELECT l.event_id, coalesce(l.strict_n, 0) AS strict_n, coalesce(l.loose_n, 0) AS loose_n,
           {'request_id': w.request_id, 'attempt': w.attempt, 'endpoint': w.endpoint} AS pick
    FROM looked l
    LEFT JOIN _fal_win w
      ON w.wid = CASE WHEN l.strict_n = 1 THEN l.strict_id
                      WHEN coalesce(l.strict_n, 0) = 0 AND l.loose_n = 1 THEN l.loose_id END
),
known AS (  -- the runners of the listing (an attempt without a dispatch time too)
    SELECT DISTINCT runner_id FROM events
    WHERE origin = 'fal_requests' AND runner_id IS NOT NULL AND attempt IS NOT NULL
)
SELECT c.event_id, c.kind,
       CASE WHEN m.strict_n = 1 OR (coalesce(m.strict_n, 0) = 0 AND m.loose_n = 1)
            THEN m.pick END AS pick,
       CASE WHEN m.strict_n = 1 OR (coalesce(m.strict_n, 0) = 0 AND m.loose_n = 1)
            THEN 'runner_time'
            WHEN m.loose_n > 1 THEN 'several requests in flight'
            WHEN c.runner_id IS NULL THEN 'no runner id'
            WHEN c.runner_id NOT IN (SELECT runner_id FROM known)
            THEN 'runner not in the request listing'
            ELSE 'no request in flight' END AS reason
FROM cand c LEFT JOIN m USING (event_id)
"""

UPDATE_SQL = """
UPDATE events AS e
SET request_id = v.pick.request_id,
    attempt = v.pick.attempt,
    endpoint = coalesce(e.endpoint, v.pick.endpoint),
    event = CASE WHEN v.pick IS NOT NULL OR v.kind NOT IN
                      ('handler.error', 'cancel.received', 'child.started', 'child.finished')
                 THEN v.kind ELSE 'log' END,
    extra = json_merge_patch(e.extra, json_object('attribution', v.reason))
FROM _fal_verdict v
WHERE e.event_id = v.event_id
  AND (e.request_id IS DISTINCT FROM v.pick.request_id
       OR e.extra->>'attribution' IS DISTINCT FROM v.reason)
"""


def attribute_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Attribute every unlabelled ``fal_logs`` line by runner and time (see the docstring)."""
    try:
        con.execute(WINDOWS_SQL)
        con.execute(STEPS_SQL, [SLACK_S])
        con.execute(VERDICT_SQL)
        con.execute(UPDATE_SQL)
    finally:
        con.execute(
            "DROP TABLE IF EXISTS _fal_win; DROP TABLE IF EXISTS _fal_steps; "
            "DROP TABLE IF EXISTS _fal_verdict"
        )


COUNTS_SQL = """
SELECT coalesce(extra->>'attribution', 'labelled') AS how, count(*) AS n,
       coalesce(sum(json_array_length(extra->'joined_lines') - 1), 0) AS joined
FROM events
WHERE origin = 'fal_logs' AND list_contains(?::BIGINT[], import_id)
GROUP BY ALL ORDER BY how
"""


def attribution_counts(con: duckdb.DuckDBPyConnection, import_ids: list[int]) -> dict[str, int]:
    """Per attribution verdict, the number of log events of these imports; ``joined``: the
    records folded into another event (a traceback's access line, uvicorn's error block)."""
    if not import_ids:
        return {}
    out: dict[str, int] = {}
    joined = 0
    for how, n, extra in con.execute(COUNTS_SQL, [import_ids]).fetchall():
        out[str(how)] = int(n)
        joined += int(extra)
    if out:
        out["joined"] = joined
    return out
