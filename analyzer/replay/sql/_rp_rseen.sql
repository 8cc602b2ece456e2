-- Per runner: first and last sight, lifecycle events, machine type, app, last sign of life
-- (aligned).
-- kind: temp
-- inputs: clock_offsets, replay_events
WITH g AS (
    SELECT runner_id, source = 'runner' AS is_runner,
           min(ts) AS first_ts, max(ts) AS last_ts,
           max(ts) FILTER (WHERE source = 'runner'
                           OR event IN ('attempt.dispatched', 'attempt.finished')
                           OR (event = 'runner.health_check' AND ok)) AS alive_ts,
           min(ts) FILTER (WHERE event = 'runner.started') AS started,
           min(ts) FILTER (WHERE event = 'runner.ready') AS ready,
           arg_min({'ts': ts, 'event_id': event_id}, ts)
               FILTER (WHERE event = 'runner.setup_failed') AS setup_failed,
           arg_min({'ts': ts, 'event_id': event_id, 'reason': reason}, ts)
               FILTER (WHERE event = 'runner.stopped') AS stopped,
           arg_min(machine_type, first_key) AS machine_type, arg_min(app, first_key) AS app
    FROM (  -- runner.started's first, then the earliest, then the first id: one number (as the
            -- struct {k, ts, id} ordered, NULLs last; ids < 2^40), compared 3x faster
        SELECT *, (CASE WHEN event = 'runner.started' THEN 0 WHEN event IS NULL THEN 2 ELSE 1
                   END::HUGEINT << 104)
                  + (coalesce(epoch_us(ts), 9223372036854775807)::HUGEINT << 40) + event_id
                  AS first_key
        FROM replay_events WHERE runner_id IS NOT NULL)
    GROUP BY runner_id, is_runner
),
a AS (
    SELECT g.*, to_microseconds(CAST(round(CASE WHEN is_runner THEN coalesce(o.offset_s, 0)
                                                ELSE 0 END * 1e6) AS BIGINT)) AS shift
    FROM g LEFT JOIN clock_offsets o USING (runner_id)
)
SELECT runner_id,
       min(first_ts - shift) AS first_seen_at, max(last_ts - shift) AS last_seen_at,
       max(alive_ts - shift) AS last_alive,
       min(started - shift) AS started_at, min(ready - shift) AS ready_at,
       min(CASE WHEN setup_failed IS NOT NULL THEN {'ts': setup_failed.ts - shift,
                                                    'event_id': setup_failed.event_id} END)
           AS setup_failed,
       min(CASE WHEN stopped IS NOT NULL THEN {'ts': stopped.ts - shift,
                'event_id': stopped.event_id, 'reason': stopped.reason} END) AS stopped,
       arg_min(machine_type, NOT is_runner) AS machine_type,
       arg_min(app, NOT is_runner) AS app
FROM a GROUP BY runner_id
