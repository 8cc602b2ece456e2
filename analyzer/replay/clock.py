"""Clock alignment: each runner's clock offset against the gateway, from causal pairs.

Let ``o`` be runner clock minus gateway clock. Causality gives bounds on ``o``:

- a dispatch (gateway ``g``) precedes the handler start it caused (runner ``r``): ``o <= r - g``;
- a forwarded cancel precedes the runner's ``cancel.received``: ``o <= r - g``;
- a handler end precedes the gateway's answer (``attempt.finished``): ``o >= r - g``;
- ``runner.ready`` precedes the first dispatch to that runner: ``o >= r - g``.

Within one (request, runner) the k-th dispatch is paired with the k-th handler start (each
source orders its own events correctly, whatever its clock), so a retry landing twice on the same
runner pairs correctly. Over all the pairs of a runner the tightest bounds give the interval
``[lower, upper]``; the estimate is its midpoint (or the single known bound; 0 with none).
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
SELECT h.runner_id, NULL::DOUBLE AS lo, (epoch_us(h.ts) - epoch_us(d.ts)) / 1e6 AS hi
FROM hstart h JOIN disp d USING (request_id, runner_id, k)
UNION ALL
SELECT r.runner_id, NULL, (epoch_us(r.ts) - epoch_us(f.ts)) / 1e6
FROM crecv r JOIN fwd f USING (request_id, runner_id, k)
UNION ALL
SELECT e.runner_id, (epoch_us(e.ts) - epoch_us(a.ts)) / 1e6, NULL
FROM hend e JOIN ans a USING (request_id, runner_id, k)
WHERE e.status IS NULL OR a.status IS NULL OR e.status = a.status
UNION ALL
SELECT r.runner_id, (epoch_us(r.ts) - epoch_us(f.ts)) / 1e6, NULL
FROM ready r JOIN first_disp f USING (runner_id);

"""

OFFSETS_SELECT = """
SELECT runner_id,
       CASE WHEN max(lo) IS NOT NULL AND min(hi) IS NOT NULL THEN (max(lo) + min(hi)) / 2
            ELSE coalesce(max(lo), min(hi), 0) END::DOUBLE AS offset_s,
       max(lo)::DOUBLE AS lower_s,
       min(hi)::DOUBLE AS upper_s,
       count(*)::INTEGER AS samples
FROM _rp_pairs GROUP BY runner_id
"""


def build_clock_offsets(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create ``clock_offsets`` from the causal pairs in ``events``."""
    con.execute(CLOCK_SQL)
    fill(con, "clock_offsets", OFFSETS_SELECT)
    con.execute("DROP TABLE _rp_pairs")
