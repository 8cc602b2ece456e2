-- Each runner seen with how it ended (the ``runners`` table's inputs, joined): its logged
-- termination ``t``, the first attempt that killed it ``k``, requests served and ``end_kind``.
-- kind: temp
-- inputs: _rp_attempts, _rp_rseen, _rp_term
WITH logged AS (
    SELECT runner_id, arg_min({'ts': ts, 'event_id': event_id, 'reason': reason,
                               'request_id': request_id}, ts) AS t
    FROM _rp_term GROUP BY runner_id
),
killed AS (
    SELECT runner_id,
           arg_min({'ts': terminated_at, 'request_id': request_id, 'attempt': attempt,
                    'inferred': termination_inferred, 'reason': termination_reason,
                    'event_id': terminated_event_id, 'needless': needless_termination},
                   terminated_at) AS k
    FROM _rp_attempts WHERE runner_terminated GROUP BY runner_id
),
served AS (
    SELECT runner_id, count(*) AS n
    FROM _rp_attempts WHERE runner_id IS NOT NULL GROUP BY runner_id
)
SELECT s.*, l.t, k.k, coalesce(v.n, 0) AS requests_served,
       CASE WHEN s.setup_failed IS NOT NULL THEN 'setup_failed'
            WHEN l.t IS NOT NULL OR k.k IS NOT NULL THEN 'terminated'
            WHEN s.stopped IS NOT NULL THEN 'stopped'
            ELSE 'unknown' END AS end_kind
FROM _rp_rseen s
LEFT JOIN logged l USING (runner_id)
LEFT JOIN killed k USING (runner_id)
LEFT JOIN served v USING (runner_id)
