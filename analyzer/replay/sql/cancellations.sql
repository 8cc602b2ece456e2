-- One row per cancel and disconnect: propagation, leaked children, unreleased resources, GPU
-- time after it.
--
-- The ``cancellations`` table: one row per cancel and per disconnect of a request.
--
-- The attempt concerned is the latest one dispatched at or before the cancel (NULL when the
-- request was still queued). Forwarded = the first ``request.cancel_forwarded`` for that request
-- (preferring the same attempt) at or after the cancel; received = the first ``cancel.received``
-- attributed to that attempt. The handler "was running" when it had started (or been dispatched)
-- and had not ended, nor been answered, by the time of the cancel. Waste = handler time after the
-- cancel plus child time after the cancel (a child that never ended runs until its runner ended or
-- the window ends).
-- kind: table
-- inputs: _rp_cancel, _rp_rev, _rp_window, children, policy_scalar, replay_events, resources, runners
WITH ca AS (SELECT * FROM _rp_cancel),
fwd AS (
    SELECT ca.request_id, ca.kind,
           arg_min({'ts': e.ts, 'event_id': e.event_id},
                   (e.attempt IS DISTINCT FROM ca.attempt)::INTEGER * 1e12 + epoch(e.ts)) AS f
    FROM ca JOIN replay_events e
      ON e.request_id = ca.request_id AND e.event = 'request.cancel_forwarded'
     AND e.source = 'gateway'
     AND e.ts >= ca.requested_at - INTERVAL 1 SECOND
    GROUP BY ca.request_id, ca.kind
),
rcv AS (
    SELECT ca.request_id, ca.kind,
           arg_min({'ts': r.ts, 'event_id': r.event_id, 'outcome': e.outcome}, r.ts) AS r
    FROM ca JOIN _rp_rev r
      ON r.request_id = ca.request_id AND r.att = ca.attempt AND r.event = 'cancel.received'
    JOIN replay_events e ON e.event_id = r.event_id
    GROUP BY ca.request_id, ca.kind
),
kids AS (
    SELECT ca.request_id, ca.kind, count(ch.child_id) AS n,
           count(ch.child_id) FILTER (WHERE ch.ran_after_parent_s >
               (SELECT value FROM policy_scalar WHERE key = 'child_grace_s')) AS leaked,
           max(ch.ended_at) AS last_end,
           coalesce(sum(ch.ran_after_parent_s), 0) AS leaked_s,
           coalesce(sum(greatest(0,
               epoch(coalesce(ch.ended_at, rn.ended_at, (SELECT window_end FROM _rp_window)))
               - greatest(epoch(ch.started_at), epoch(ca.requested_at)))), 0) AS after_cancel_s
    FROM ca JOIN children ch ON ch.request_id = ca.request_id AND ch.attempt = ca.attempt
    LEFT JOIN runners rn ON rn.runner_id = ch.runner_id
    GROUP BY ca.request_id, ca.kind
),
res AS (
    SELECT ca.request_id, ca.kind, count(*) FILTER (WHERE x.released_at IS NULL) AS unreleased
    FROM ca JOIN resources x ON x.request_id = ca.request_id
     AND (x.attempt = ca.attempt OR ca.attempt IS NULL)
    GROUP BY ca.request_id, ca.kind
),
j AS (
    SELECT ca.*, fwd.f, rcv.r, kids.n, kids.leaked, kids.last_end, kids.leaked_s,
           kids.after_cancel_s, res.unreleased,
           (ca.attempt IS NOT NULL
            AND coalesce(ca.handler_started_at, ca.dispatched_at) <= ca.requested_at
            AND (coalesce(ca.handler_ended_at, ca.answered_at, ca.terminated_at) IS NULL
                 OR coalesce(ca.handler_ended_at, ca.answered_at, ca.terminated_at)
                    > ca.requested_at)
           ) AS running
    FROM ca
    LEFT JOIN fwd USING (request_id, kind)
    LEFT JOIN rcv USING (request_id, kind)
    LEFT JOIN kids USING (request_id, kind)
    LEFT JOIN res USING (request_id, kind)
)
SELECT request_id, app, endpoint, kind, requested_at, attempt, runner_id,
       f.ts AS forwarded_at, r.ts AS received_at, r.outcome AS receive_outcome,
       handler_ended_at AS handler_stopped_at, handler_outcome,
       coalesce(running, false) AS handler_was_running,
       CASE WHEN running THEN epoch(handler_ended_at) - epoch(requested_at) END AS propagation_s,
       coalesce(n, 0)::INTEGER AS children, coalesce(leaked, 0)::INTEGER AS children_leaked,
       last_end AS last_child_stopped_at, coalesce(leaked_s, 0) AS leaked_child_seconds,
       coalesce(unreleased, 0)::INTEGER AS resources_unreleased,
       CASE WHEN running THEN greatest(0,
           epoch(coalesce(handler_ended_at, terminated_at, (SELECT window_end FROM _rp_window)))
           - epoch(requested_at)) ELSE 0 END + coalesce(after_cancel_s, 0) AS wasted_gpu_seconds,
       requested_event_id, f.event_id AS forwarded_event_id, r.event_id AS received_event_id,
       handler_end_event_id
FROM j
