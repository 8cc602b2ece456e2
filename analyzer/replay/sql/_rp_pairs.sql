-- Bounds on each runner's clock offset, one per causal pair (tight: a network hop apart;
-- loose: runner.ready before the first dispatch).
-- kind: temp
-- inputs: _rp_roles, replay_events
WITH roles AS MATERIALIZED (SELECT * FROM _rp_roles),  -- read three times, computed once
agg AS (
    -- most (request, runner) pairs hold one event of each role: pair them by aggregation
    SELECT request_id, runner_id,
           count(*) FILTER (WHERE role = 1) AS n1, min(us) FILTER (WHERE role = 1) AS d,
           count(*) FILTER (WHERE role = 2) AS n2, min(us) FILTER (WHERE role = 2) AS hs,
           count(*) FILTER (WHERE role = 3) AS n3, min(us) FILTER (WHERE role = 3) AS a,
           min(status) FILTER (WHERE role = 3) AS a_status,
           count(*) FILTER (WHERE role = 4) AS n4, min(us) FILTER (WHERE role = 4) AS he,
           min(status) FILTER (WHERE role = 4) AS he_status,
           count(*) FILTER (WHERE role = 5) AS n5, min(us) FILTER (WHERE role = 5) AS f,
           count(*) FILTER (WHERE role = 6) AS n6, min(us) FILTER (WHERE role = 6) AS c
    FROM roles WHERE role IS NOT NULL GROUP BY request_id, runner_id
),
single AS (
    SELECT runner_id, NULL::DOUBLE AS lo, (hs - d) / 1e6 AS hi FROM agg
    WHERE n1 = 1 AND n2 = 1
    UNION ALL
    SELECT runner_id, (he - a) / 1e6, NULL FROM agg
    WHERE n3 = 1 AND n4 = 1
      AND (he_status IS NULL OR a_status IS NULL OR he_status = a_status)
    UNION ALL
    SELECT runner_id, NULL, (c - f) / 1e6 FROM agg WHERE n5 = 1 AND n6 = 1
),
multi AS (
    -- the rest (a retry on the same runner...): the k-th of a role with the k-th of its pair
    SELECT r.request_id, r.runner_id, r.role, r.us, r.status,
           row_number() OVER (PARTITION BY r.request_id, r.runner_id, r.role
                              ORDER BY r.us, r.event_id) AS k
    FROM roles r
    JOIN (SELECT request_id, runner_id FROM agg
          WHERE n1 > 1 OR n2 > 1 OR n3 > 1 OR n4 > 1 OR n5 > 1 OR n6 > 1) m
      USING (request_id, runner_id)
    WHERE r.role IS NOT NULL
),
multi_pairs AS (
    SELECT r.runner_id,
           CASE WHEN r.role = 4 THEN (r.us - g.us) / 1e6 END AS lo,
           CASE WHEN r.role <> 4 THEN (r.us - g.us) / 1e6 END AS hi
    FROM multi r JOIN multi g
      ON g.request_id = r.request_id AND g.runner_id = r.runner_id AND g.k = r.k
     AND g.role = r.role - 1
    WHERE r.role IN (2, 4, 6)
      AND (r.role <> 4 OR r.status IS NULL OR g.status IS NULL OR r.status = g.status)
),
ready AS (
    SELECT runner_id, min(epoch_us(ts)) AS us FROM replay_events
    WHERE source = 'runner' AND event = 'runner.ready' AND runner_id IS NOT NULL
    GROUP BY runner_id
),
first_disp AS (
    SELECT runner_id, min(us) AS us FROM roles WHERE role = 1 GROUP BY runner_id
)
SELECT runner_id, lo, hi, true AS tight FROM single
UNION ALL
SELECT runner_id, lo, hi, true FROM multi_pairs
UNION ALL
SELECT r.runner_id, (r.us - f.us) / 1e6, NULL, false
FROM ready r JOIN first_disp f USING (runner_id)
