-- Runner events of a request, clock-aligned, with the attempt they belong to (the latest
-- dispatch to that runner at or before them).
--
-- Runner events carry no attempt number: an event belongs to the latest attempt of the same
-- request dispatched to the same runner at or before its aligned time (ASOF join, only for the
-- few (request, runner) pairs with several attempts; the others are a plain join), so a retry
-- that lands on the same runner again gets its own events; events before any such dispatch (the
-- window cut the dispatch off) go to the first attempt on that runner. Narrow rows: wide columns
-- are joined back from the events by event_id only where needed.
-- kind: inline
-- inputs: _rp_att0, clock_offsets, replay_events
WITH pairs AS (
    SELECT request_id, runner_id, count(*) AS n, min(attempt) AS first_att FROM _rp_att0
    WHERE runner_id IS NOT NULL GROUP BY request_id, runner_id
),
rev0 AS (
    SELECT e.event_id, e.event, e.request_id, e.runner_id, e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)) AS ts, e.ts AS ts_raw,
           e.child_id, e.resource_id, e.attempt AS own_att, p.n, p.first_att
    FROM replay_events e
    LEFT JOIN clock_offsets o ON o.runner_id = e.runner_id
    LEFT JOIN pairs p ON p.request_id = e.request_id AND p.runner_id = e.runner_id
    WHERE e.source = 'runner' AND e.request_id IS NOT NULL
)
SELECT * EXCLUDE (own_att, n, first_att), coalesce(own_att, first_att) AS att0
FROM rev0 WHERE coalesce(n, 0) <= 1 OR own_att IS NOT NULL
UNION ALL
SELECT r.* EXCLUDE (own_att, n, first_att), coalesce(m.attempt, r.first_att) AS att0
FROM (SELECT * FROM rev0 WHERE n > 1 AND own_att IS NULL) r
ASOF LEFT JOIN (SELECT request_id, runner_id, attempt, dispatched_at FROM _rp_att0
                WHERE dispatched_at IS NOT NULL AND runner_id IS NOT NULL) m
  ON r.request_id = m.request_id AND r.runner_id = m.runner_id AND r.ts >= m.dispatched_at
