-- First and last aligned time of all the events (the window; replay_offsets_other: the clock
-- offsets of the runners an incremental replay keeps).
-- kind: temp
-- inputs: clock_offsets, events, replay_offsets_other
SELECT min(e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_start,
       max(e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_end
FROM events e
LEFT JOIN (SELECT runner_id, offset_s FROM clock_offsets
           UNION ALL SELECT runner_id, offset_s FROM replay_offsets_other) o
  ON o.runner_id = e.runner_id AND e.source = 'runner'
