-- First and last aligned time of all the events (the window).
-- kind: temp
-- inputs: clock_offsets, events
SELECT min(e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_start,
       max(e.ts - to_microseconds(CAST(round(coalesce(o.offset_s, 0) * 1e6) AS BIGINT)))
           AS window_end
FROM events e
LEFT JOIN clock_offsets o ON o.runner_id = e.runner_id AND e.source = 'runner'
