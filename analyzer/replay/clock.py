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
disp AS (
    SELECT request_id, runner_id, ts, row_number() OVER w AS k
    FROM events WHERE source = 'gateway' AND event = 'attempt.dispatched'
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
hstart AS (
    SELECT request_id, runner_id, ts, row_number() OVER w AS k
    FROM events WHERE source = 'runner' AND event = 'handler.started'
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
ans AS (
    SELECT request_id, runner_id, ts, status, row_number() OVER w AS k
    FROM events WHERE source = 'gateway' AND event = 'attempt.finished'
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
hend AS (
    SELECT request_id, runner_id, ts, status, row_number() OVER w AS k
    FROM events WHERE source = 'runner'
      AND event IN ('handler.finished', 'handler.error')
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
fwd AS (
    SELECT request_id, runner_id, ts, row_number() OVER w AS k
    FROM events WHERE source = 'gateway' AND event = 'request.cancel_forwarded'
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
crecv AS (
    SELECT request_id, runner_id, ts, row_number() OVER w AS k
    FROM events WHERE source = 'runner' AND event = 'cancel.received'
      AND request_id IS NOT NULL AND runner_id IS NOT NULL
    WINDOW w AS (PARTITION BY request_id, runner_id ORDER BY ts, event_id)
),
ready AS (
    SELECT runner_id, min(ts) AS ts FROM events
    WHERE source = 'runner' AND event = 'runner.ready' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
first_disp AS (
    SELECT runner_id, min(ts) AS ts FROM disp GROUP BY runner_id
)
SELECT h.runner_id, NULL::DOUBLE AS lo, (epoch_us(h.ts) - epoch_us(d.ts)) / 1e6 AS hi,
       true AS tight
FROM hstart h JOIN disp d USING (request_id, runner_id, k)
UNION ALL
SELECT r.runner_id, NULL, (epoch_us(r.ts) - epoch_us(f.ts)) / 1e6, true
FROM crecv r JOIN fwd f USING (request_id, runner_id, k)
UNION ALL
SELECT e.runner_id, (epoch_us(e.ts) - epoch_us(a.ts)) / 1e6, NULL, true
FROM hend e JOIN ans a USING (request_id, runner_id, k)
WHERE e.status IS NULL OR a.status IS NULL OR e.status = a.status
UNION ALL
SELECT r.runner_id, (epoch_us(r.ts) - epoch_us(f.ts)) / 1e6, NULL, false
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
