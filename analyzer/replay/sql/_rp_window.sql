-- First and last aligned time of all the events (the window; replay_offsets_other: the clock
-- offsets of the runners an incremental replay keeps).
-- kind: temp
-- inputs: clock_offsets, events, replay_offsets_other
WITH g AS (  -- per runner first: the offsets apply to a few hundred rows, not every event
    SELECT CASE WHEN source = 'runner' THEN runner_id END AS runner_id, min(ts) AS lo,
           max(ts) AS hi
    FROM events GROUP BY 1
)
SELECT min(g.lo - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_start,
       max(g.hi - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_end
FROM g
LEFT JOIN (SELECT runner_id, offset_s FROM clock_offsets
           UNION ALL SELECT runner_id, offset_s FROM replay_offsets_other) o
  ON o.runner_id = g.runner_id
