-- Resources a handler acquired, and whether it released them.
-- kind: table
-- inputs: _rp_rev, replay_events
SELECT r.request_id, r.runner_id, r.resource_id,
       coalesce(arg_min(e.kind, r.k) FILTER (WHERE r.event = 'resource.acquired'),
                any_value(e.kind)) AS kind,
       min(r.ts) FILTER (WHERE r.event = 'resource.acquired') AS acquired_at,
       min(r.ts) FILTER (WHERE r.event = 'resource.released') AS released_at,
       arg_min(r.event_id, r.k) FILTER (WHERE r.event = 'resource.acquired') AS acquired_event_id,
       arg_min(r.event_id, r.k) FILTER (WHERE r.event = 'resource.released') AS released_event_id,
       min(r.att) AS attempt
-- k: the time, then the event id (ties: the same event in two logs)
FROM (SELECT *, (epoch_us(ts)::HUGEINT << 40) + event_id AS k FROM _rp_rev) r
JOIN replay_events e ON e.event_id = r.event_id
WHERE r.resource_id IS NOT NULL AND r.event IN ('resource.acquired', 'resource.released')
GROUP BY r.request_id, r.runner_id, r.resource_id
