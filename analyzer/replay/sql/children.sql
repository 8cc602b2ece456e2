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
WITH s AS (  -- one pass: a child's start and its first end (a start or an end alone without a
    -- runner), numbers only: the payload is joined from the two events (strings cost 3x)
    SELECT request_id, runner_id, child_id,
           coalesce(arg_min(att, k) FILTER (WHERE is_start),
                    arg_min(att, k) FILTER (WHERE NOT is_start)) AS attempt_,
           min(ts) FILTER (WHERE is_start) AS st_ts,
           arg_min(event_id, k) FILTER (WHERE is_start) AS st_event_id,
           min(ts) FILTER (WHERE NOT is_start) AS en_ts,
           arg_min(event_id, k) FILTER (WHERE NOT is_start) AS en_event_id
    FROM (SELECT *, event = 'child.started' AS is_start, (epoch_us(ts)::HUGEINT << 40) + event_id AS k FROM _rp_rev
          WHERE event IN ('child.started', 'child.finished', 'child.cancelled')
            AND child_id IS NOT NULL)
    GROUP BY request_id, runner_id, child_id, CASE WHEN runner_id IS NULL THEN is_start END
),
j AS (
    SELECT s.*, st.kind, st.name, st.deadline_s, st.app AS st_app, st.endpoint AS st_endpoint,
           CASE WHEN en.event = 'child.cancelled' THEN 'cancelled' ELSE en.outcome END AS outcome,
           a.handler_ended_at AS parent_ended_at, a.app AS a_app, a.endpoint AS a_endpoint,
           r.received_at, r.recv.deadline_s AS req_deadline_s, rn.ended_at AS runner_ended_at
    FROM s
    LEFT JOIN replay_events st ON st.event_id = s.st_event_id
    LEFT JOIN replay_events en ON en.event_id = s.en_event_id
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
