-- Per request: first sight (over every source), attempts, kills, GPU time and waste.
-- kind: inline
-- inputs: _rp_att0, _rp_rev, attempts, replay_events
WITH sight AS (  -- the only pass over the events: narrow rows, numbers aggregated
    SELECT request_id, min(ts) AS first_seen_at,
           arg_min(event_id, (epoch_us(ts)::HUGEINT << 40) + event_id) AS first_event_id  -- ties: the first id
    FROM (SELECT request_id, ts, event_id FROM replay_events
          WHERE request_id IS NOT NULL AND source <> 'runner'
          UNION ALL
          SELECT request_id, ts, event_id FROM _rp_rev)
    GROUP BY request_id
),
att0 AS (
    SELECT request_id, max(attempt) AS n, count(*) FILTER (WHERE runner_terminated) AS killed,
           count(*) FILTER (WHERE needless_termination) AS needless, count(*) AS k,
           sum(gpu_seconds) AS gpu, sum(gpu_seconds_wasted) AS wasted, sum(wasted_usd) AS usd
    FROM attempts GROUP BY request_id
),
att AS (  -- sums of 3+ attempts in attempt order: the same bits on every run (2 commute)
    SELECT a.* REPLACE (coalesce(o.gpu, a.gpu) AS gpu, coalesce(o.wasted, a.wasted) AS wasted,
                        coalesce(o.usd, a.usd) AS usd)
    FROM att0 a LEFT JOIN (
        SELECT request_id, sum(gpu_seconds ORDER BY attempt) AS gpu,
               sum(gpu_seconds_wasted ORDER BY attempt) AS wasted,
               sum(wasted_usd ORDER BY attempt) AS usd
        FROM attempts WHERE request_id IN (SELECT request_id FROM att0 WHERE k > 2)
        GROUP BY request_id) o USING (request_id)
),
gw AS (  -- the gateway's app and endpoint (requests.sql falls back on them)
    SELECT request_id, any_value(app) AS fa_app, any_value(endpoint) AS fa_endpoint
    FROM _rp_att0 GROUP BY request_id
)
-- every request of an attempt has a gateway event: a row per request seen in an event
SELECT s.request_id, s.first_seen_at, s.first_event_id, a.n, coalesce(a.killed, 0) AS killed,
       coalesce(a.needless, 0) AS needless, true AS seen, a.gpu, a.wasted, a.usd,
       g.fa_app, g.fa_endpoint
FROM sight s LEFT JOIN att a USING (request_id) LEFT JOIN gw g USING (request_id)
