"""Clock alignment: each runner's clock offset against the gateway, from causal pairs.

Let ``o`` be runner clock minus gateway clock. Causality gives bounds on ``o``:

- a dispatch (gateway ``g``) precedes the handler start it caused (runner ``r``): ``o <= r - g``;
- a forwarded cancel precedes the runner's ``cancel.received``: ``o <= r - g``;
- a handler end precedes the gateway's answer (``attempt.finished``): ``o >= r - g``;
- ``runner.ready`` precedes the first dispatch to that runner: ``o >= r - g``.

Within one (request, runner) the k-th dispatch is paired with the k-th handler start (each
source orders its own events correctly, whatever its clock), so a retry landing twice on the same
runner pairs correctly (pairs holding one event of each role, nearly all of them, are paired by
a plain aggregation; only the others need the numbering). Over all the pairs of a runner the tightest bounds give the interval
``[lower, upper]``; the estimate is the midpoint of the bounds from the tight pairs (dispatch /
start, end / answer, forward / receive: separated by a network hop), or the single tight bound
known; the loose bound (``runner.ready`` before the first dispatch: separated by idle time) only
clamps the estimate. No pair at all: offset 0.
With the estimate inside the interval, every causal pair used is ordered correctly after
alignment. Runner timestamps are aligned as ``ts - offset``; the raw value stays in ``events``.
"""

from __future__ import annotations

import duckdb

from analyzer.replay.schema import fill

CLOCK_SQL = """
CREATE OR REPLACE TEMP TABLE _rp_roles AS
SELECT request_id, runner_id, event_id, epoch_us(ts) AS us, status,
       CASE WHEN source = 'gateway' AND event = 'attempt.dispatched' THEN 1
            WHEN source = 'runner' AND event = 'handler.started' THEN 2
            WHEN source = 'gateway' AND event = 'attempt.finished' THEN 3
            WHEN source = 'runner' AND event IN ('handler.finished', 'handler.error') THEN 4
            WHEN source = 'gateway' AND event = 'request.cancel_forwarded' THEN 5
            WHEN source = 'runner' AND event = 'cancel.received' THEN 6 END AS role
FROM events
WHERE event IN ('attempt.dispatched', 'handler.started', 'attempt.finished',
                'handler.finished', 'handler.error', 'request.cancel_forwarded',
                'cancel.received')
  AND request_id IS NOT NULL AND runner_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE _rp_pairs AS
WITH agg AS (
    -- most (request, runner) pairs hold one event of each role: pair them by aggregation
    SELECT request_id, runner_id,
           count(*) FILTER (WHERE role = 1) AS n1, min(us) FILTER (WHERE role = 1) AS d,
           count(*) FILTER (WHERE role = 2) AS n2, min(us) FILTER (WHERE role = 2) AS hs,
           count(*) FILTER (WHERE role = 3) AS n3, min(us) FILTER (WHERE role = 3) AS a,
           min(status) FILTER (WHERE role = 3) AS a_status,
           count(*) FILTER (WHERE role = 4) AS n4, min(us) FILTER (WHERE role = 4) AS he,
           min(status) FILTER (WHERE role = 4) AS he_status,
           count(*) FILTER (WHERE role = 5) AS n5, min(us) FILTER (WHERE role = 5) AS f,
           count(*) FILTER (WHERE role = 6) AS n6, min(us) FILTER (WHERE role = 6) AS c
    FROM _rp_roles WHERE role IS NOT NULL GROUP BY request_id, runner_id
),
single AS (
    SELECT runner_id, NULL::DOUBLE AS lo, (hs - d) / 1e6 AS hi FROM agg
    WHERE n1 = 1 AND n2 = 1
    UNION ALL
    SELECT runner_id, (he - a) / 1e6, NULL FROM agg
    WHERE n3 = 1 AND n4 = 1
      AND (he_status IS NULL OR a_status IS NULL OR he_status = a_status)
    UNION ALL
    SELECT runner_id, NULL, (c - f) / 1e6 FROM agg WHERE n5 = 1 AND n6 = 1
),
multi AS (
    -- the rest (a retry on the same runner...): the k-th of a role with the k-th of its pair
    SELECT r.request_id, r.runner_id, r.role, r.us, r.status,
           row_number() OVER (PARTITION BY r.request_id, r.runner_id, r.role
                              ORDER BY r.us, r.event_id) AS k
    FROM _rp_roles r
    JOIN (SELECT request_id, runner_id FROM agg
          WHERE n1 > 1 OR n2 > 1 OR n3 > 1 OR n4 > 1 OR n5 > 1 OR n6 > 1) m
      USING (request_id, runner_id)
    WHERE r.role IS NOT NULL
),
multi_pairs AS (
    SELECT r.runner_id,
           CASE WHEN r.role = 4 THEN (r.us - g.us) / 1e6 END AS lo,
           CASE WHEN r.role <> 4 THEN (r.us - g.us) / 1e6 END AS hi
    FROM multi r JOIN multi g
      ON g.request_id = r.request_id AND g.runner_id = r.runner_id AND g.k = r.k
     AND g.role = r.role - 1
    WHERE r.role IN (2, 4, 6)
      AND (r.role <> 4 OR r.status IS NULL OR g.status IS NULL OR r.status = g.status)
),
ready AS (
    SELECT runner_id, min(epoch_us(ts)) AS us FROM events
    WHERE source = 'runner' AND event = 'runner.ready' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
first_disp AS (
    SELECT runner_id, min(us) AS us FROM _rp_roles WHERE role = 1 GROUP BY runner_id
)
SELECT runner_id, lo, hi, true AS tight FROM single
UNION ALL
SELECT runner_id, lo, hi, true FROM multi_pairs
UNION ALL
SELECT r.runner_id, (r.us - f.us) / 1e6, NULL, false
FROM ready r JOIN first_disp f USING (runner_id);
DROP TABLE _rp_roles;
"""

OFFSETS_SELECT = """
WITH b AS (
    SELECT runner_id,
           max(lo) FILTER (WHERE tight) AS lo_t, min(hi) FILTER (WHERE tight) AS hi_t,
           max(lo) FILTER (WHERE NOT tight) AS lo_loose,
           max(lo) AS lo, min(hi) AS hi, count(*) AS n
    FROM _rp_pairs GROUP BY runner_id
),
e AS (
    SELECT *, CASE WHEN lo_t IS NOT NULL AND hi_t IS NOT NULL THEN (lo_t + hi_t) / 2
                   ELSE coalesce(hi_t, lo_t, lo_loose, 0) END AS est
    FROM b
)
SELECT runner_id,
       (CASE WHEN lo_loose > est AND lo_loose <= coalesce(hi_t, lo_loose) THEN lo_loose
             ELSE est END)::DOUBLE AS offset_s,
       lo::DOUBLE AS lower_s, hi::DOUBLE AS upper_s, n::INTEGER AS samples
FROM e
"""


def build_clock_offsets(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create ``clock_offsets`` from the causal pairs in ``events``."""
    con.execute(CLOCK_SQL)
    fill(con, "clock_offsets", OFFSETS_SELECT)
    con.execute("DROP TABLE _rp_pairs")
