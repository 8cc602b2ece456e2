-- Each cancel and disconnect with what followed it (the ``cancellations`` table's inputs, joined):
-- the forward ``f``, the runner's receipt ``r``, its attempt's children (count, leaked, their
-- time after the cancel), unreleased resources, and whether the handler was ``running``.
-- kind: temp
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
)
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
