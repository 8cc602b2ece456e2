-- Per request, one pass over every source: first sight, attempts, kills, GPU time and waste.
-- kind: temp
-- inputs: _rp_att0, _rp_rev, attempts, replay_events
WITH u AS (  -- narrow rows of every source, aggregated in ONE pass keyed on request_id
    SELECT request_id, 0 AS src, ts, event_id, NULL::INTEGER AS attempt,
           NULL::BOOLEAN AS killed, NULL::BOOLEAN AS needless,
           NULL::VARCHAR AS app, NULL::VARCHAR AS endpoint,
           NULL::DOUBLE AS gpu, NULL::DOUBLE AS wasted, NULL::DOUBLE AS usd
    FROM replay_events WHERE request_id IS NOT NULL AND source <> 'runner'
    UNION ALL
    SELECT request_id, 0, ts, event_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM _rp_rev
    UNION ALL
    SELECT request_id, 1, NULL, NULL, attempt, runner_terminated, needless_termination,
           NULL, NULL, gpu_seconds,
           gpu_seconds_wasted, wasted_usd
    FROM attempts
    UNION ALL
    SELECT request_id, 2, NULL, NULL, NULL, NULL, NULL, app, endpoint, NULL, NULL, NULL
    FROM _rp_att0
),
g AS (
    SELECT request_id, min(ts) AS first_seen_at, arg_min(event_id, ts) AS first_event_id,
           max(attempt) AS n, count(*) FILTER (WHERE src = 1 AND killed) AS killed,
           count(*) FILTER (WHERE src = 1 AND needless) AS needless,
           count(*) FILTER (WHERE src = 0) > 0 AS seen,
           sum(gpu) AS gpu, sum(wasted) AS wasted, sum(usd) AS usd,
           any_value(app) FILTER (WHERE src = 2) AS fa_app,
           any_value(endpoint) FILTER (WHERE src = 2) AS fa_endpoint
    FROM u GROUP BY request_id
)
SELECT * FROM g
