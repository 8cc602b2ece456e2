-- _rp_rev1 with child and resource events given the attempt of their child.started /
-- resource.acquired.
-- kind: temp
-- inputs: _rp_rev1
WITH r1 AS MATERIALIZED (SELECT * FROM _rp_rev1),  -- read three times, computed once
cs AS (
    SELECT request_id, runner_id, child_id, arg_min(att0, (epoch_us(ts)::HUGEINT << 40) + event_id) AS att FROM r1
    WHERE event = 'child.started' AND child_id IS NOT NULL GROUP BY ALL
),
rs AS (
    SELECT request_id, runner_id, resource_id, arg_min(att0, (epoch_us(ts)::HUGEINT << 40) + event_id) AS att
    FROM r1
    WHERE event = 'resource.acquired' AND resource_id IS NOT NULL GROUP BY ALL
)
SELECT r.* EXCLUDE (att0),
       coalesce(CASE WHEN r.event LIKE 'child.%' THEN cs.att END,
                CASE WHEN r.event LIKE 'resource.%' THEN rs.att END, r.att0) AS att
FROM r1 r
LEFT JOIN cs ON cs.request_id = r.request_id AND cs.runner_id = r.runner_id
            AND cs.child_id = r.child_id
LEFT JOIN rs ON rs.request_id = r.request_id AND rs.runner_id = r.runner_id
            AND rs.resource_id = r.resource_id
