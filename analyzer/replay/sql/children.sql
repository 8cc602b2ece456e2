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
WITH st AS (
    SELECT r.request_id, r.runner_id, r.child_id, min(r.ts) AS ts,
           arg_min(r.event_id, r.ts) AS event_id, arg_min(r.att, r.ts) AS att,
           any_value(e.kind) AS kind, any_value(e.name) AS name,
           any_value(e.deadline_s) AS deadline_s, any_value(e.app) AS app,
           any_value(e.endpoint) AS endpoint
    FROM _rp_rev r JOIN replay_events e ON e.event_id = r.event_id
    WHERE r.event = 'child.started' AND e.event = 'child.started' AND r.child_id IS NOT NULL
    GROUP BY r.request_id, r.runner_id, r.child_id
),
en AS (
    SELECT r.request_id, r.runner_id, r.child_id, min(r.ts) AS ts,
           arg_min(r.event_id, r.ts) AS event_id, arg_min(r.att, r.ts) AS att,
           arg_min(CASE WHEN r.event = 'child.cancelled' THEN 'cancelled' ELSE e.outcome END,
                   r.ts) AS outcome
    FROM _rp_rev r JOIN replay_events e ON e.event_id = r.event_id
    WHERE r.event IN ('child.finished', 'child.cancelled')
      AND e.event IN ('child.finished', 'child.cancelled') AND r.child_id IS NOT NULL
    GROUP BY r.request_id, r.runner_id, r.child_id
),
s AS (  -- flat columns (no structs): narrow payloads through the joins below
    SELECT coalesce(st.request_id, en.request_id) AS request_id,
           coalesce(st.runner_id, en.runner_id) AS runner_id,
           coalesce(st.child_id, en.child_id) AS child_id,
           coalesce(st.att, en.att) AS attempt_,
           st.ts AS st_ts, st.event_id AS st_event_id, st.kind, st.name, st.deadline_s,
           st.app AS st_app, st.endpoint AS st_endpoint,
           en.ts AS en_ts, en.event_id AS en_event_id, en.outcome
    FROM st FULL OUTER JOIN en ON en.request_id = st.request_id
     AND en.runner_id = st.runner_id AND en.child_id = st.child_id
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
