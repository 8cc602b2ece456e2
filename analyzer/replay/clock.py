"""Clock alignment: each runner's clock offset against the gateway, from causal pairs.

Let ``o`` be runner clock minus gateway clock. Causality gives bounds on ``o``:

- a dispatch (gateway ``g``) precedes the handler start it caused (runner ``r``): ``o <= r - g``;
- a forwarded cancel precedes the runner's ``cancel.received``: ``o <= r - g``;
- a handler end precedes the gateway's answer (``attempt.finished``): ``o >= r - g``;
- ``runner.ready`` precedes the first dispatch to that runner: ``o >= r - g``.

Within one (request, runner) the k-th dispatch is paired with the k-th handler start (each
source orders its own events correctly, whatever its clock), so a retry landing twice on the same
runner pairs correctly. Over all the pairs of a runner the tightest bounds give the interval
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
CREATE OR REPLACE TEMP TABLE _rp_pairs AS
WITH
roles AS (
    -- one pass: the events that form causal pairs, numbered k-th within (request, runner, role)
    SELECT request_id, runner_id, epoch_us(ts) AS us, status,
           CASE WHEN source = 'gateway' AND event = 'attempt.dispatched' THEN 'disp'
                WHEN source = 'runner' AND event = 'handler.started' THEN 'hstart'
                WHEN source = 'gateway' AND event = 'attempt.finished' THEN 'ans'
                WHEN source = 'runner' AND event IN ('handler.finished', 'handler.error')
                     THEN 'hend'
                WHEN source = 'gateway' AND event = 'request.cancel_forwarded' THEN 'fwd'
                WHEN source = 'runner' AND event = 'cancel.received' THEN 'crecv' END AS role,
           row_number() OVER (PARTITION BY request_id, runner_id, role
                              ORDER BY ts, event_id) AS k
    FROM events
    WHERE event IN ('attempt.dispatched', 'handler.started', 'attempt.finished',
                    'handler.finished', 'handler.error', 'request.cancel_forwarded',
                    'cancel.received')
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
      AND role IS NOT NULL
),
ready AS (
    SELECT runner_id, min(epoch_us(ts)) AS us FROM events
    WHERE source = 'runner' AND event = 'runner.ready' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
first_disp AS (
    SELECT runner_id, min(us) AS us FROM roles WHERE role = 'disp' GROUP BY runner_id
)
SELECT r.runner_id,
       CASE WHEN r.role = 'hend' THEN (r.us - g.us) / 1e6 END AS lo,
       CASE WHEN r.role <> 'hend' THEN (r.us - g.us) / 1e6 END AS hi,
       true AS tight
FROM roles r JOIN roles g
  ON g.request_id = r.request_id AND g.runner_id = r.runner_id AND g.k = r.k
 AND g.role = CASE r.role WHEN 'hstart' THEN 'disp' WHEN 'hend' THEN 'ans'
                          WHEN 'crecv' THEN 'fwd' END
WHERE r.role IN ('hstart', 'hend', 'crecv')
  AND (r.role <> 'hend' OR r.status IS NULL OR g.status IS NULL OR r.status = g.status)
UNION ALL
SELECT r.runner_id, (r.us - f.us) / 1e6, NULL, false
FROM ready r JOIN first_disp f USING (runner_id);
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
