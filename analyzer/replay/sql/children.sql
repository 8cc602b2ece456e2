-- Child work a handler started, and how long it ran after its handler ended.
--
-- The ``children`` and ``resources`` tables: work and resources a handler started.
--
-- A child's attempt is that of its ``child.started`` (see ``stage``). A child that never ended in
-- the window is taken to run until its runner ended (a killed process takes its children with it)
-- or, failing that, to the end of the window; ``ran_after_parent_s`` measures that time past its
-- handler's end (NULL when the handler never ended).
-- kind: table
-- inputs: _rp_attempts, _rp_recv, _rp_rev, _rp_window, replay_events, runners
WITH ev AS (  -- the child events, their payload joined from the events once
    SELECT r.request_id, r.runner_id, r.child_id, r.ts, r.event_id, r.att, e.kind, e.name,
           e.deadline_s, e.app, e.endpoint,
           CASE WHEN r.event = 'child.cancelled' THEN 'cancelled' ELSE e.outcome END AS outcome,
           r.event = 'child.started' AS is_start
    FROM _rp_rev r JOIN replay_events e ON e.event_id = r.event_id
    WHERE r.event IN ('child.started', 'child.finished', 'child.cancelled')
      AND r.child_id IS NOT NULL
),
s AS (  -- one pass: a child's start and its first end (a start or an end alone without a runner)
    SELECT request_id, runner_id, child_id,
           coalesce(arg_min(att, ts) FILTER (WHERE is_start),
                    arg_min(att, ts) FILTER (WHERE NOT is_start)) AS attempt_,
           min(ts) FILTER (WHERE is_start) AS st_ts,
           arg_min(event_id, ts) FILTER (WHERE is_start) AS st_event_id,
           any_value(kind) FILTER (WHERE is_start) AS kind,
           any_value(name) FILTER (WHERE is_start) AS name,
           any_value(deadline_s) FILTER (WHERE is_start) AS deadline_s,
           any_value(app) FILTER (WHERE is_start) AS st_app,
           any_value(endpoint) FILTER (WHERE is_start) AS st_endpoint,
           min(ts) FILTER (WHERE NOT is_start) AS en_ts,
           arg_min(event_id, ts) FILTER (WHERE NOT is_start) AS en_event_id,
           arg_min(outcome, ts) FILTER (WHERE NOT is_start) AS outcome
    FROM ev GROUP BY request_id, runner_id, child_id, CASE WHEN runner_id IS NULL THEN is_start END
),
j AS (
    SELECT s.*, a.handler_ended_at AS parent_ended_at, a.app AS a_app, a.endpoint AS a_endpoint,
           r.received_at, r.recv.deadline_s AS req_deadline_s, rn.ended_at AS runner_ended_at
    FROM s
    LEFT JOIN _rp_attempts a ON a.request_id = s.request_id AND a.attempt = s.attempt_
    LEFT JOIN _rp_recv r ON r.request_id = s.request_id
    LEFT JOIN runners rn ON rn.runner_id = s.runner_id
)
SELECT request_id, attempt_ AS attempt, runner_id,
       coalesce(a_app, st_app) AS app, coalesce(a_endpoint, st_endpoint) AS endpoint,
       child_id, kind, name,
       st_ts AS started_at, en_ts AS ended_at, outcome, deadline_s,
       epoch(received_at) + req_deadline_s - epoch(st_ts) AS parent_budget_s,
       parent_ended_at,
       CASE WHEN parent_ended_at IS NOT NULL THEN greatest(0,
           epoch(coalesce(en_ts, runner_ended_at, (SELECT window_end FROM _rp_window)))
           - epoch(parent_ended_at)) END AS ran_after_parent_s,
       st_event_id AS started_event_id, en_event_id AS ended_event_id
FROM j
