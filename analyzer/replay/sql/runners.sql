-- One row per runner: lifecycle, how it ended, who killed it, its price per GPU-hour.
--
-- The ``runners`` table: one row per runner, its lifecycle and how it ended.
--
-- End, in this order: ``setup_failed`` (the runner logged ``runner.setup_failed``), ``terminated``
-- (a logged ``runner.terminated``, or a termination inferred on one of its attempts: the runner
-- went silent after an answer that kills it, ``end_inferred``), ``stopped`` (``runner.stopped``),
-- else ``unknown`` (still alive at the end of the window).
-- A runner in ``replay_runners_given`` (its row over the whole day, from a sharded analysis whose
-- time slice sees part of its life; empty otherwise) keeps the given row.
-- kind: table
-- inputs: _rp_rend, clock_offsets, policy_price, policy_scalar, replay_runners_given
SELECT e.runner_id, e.app, e.machine_type, e.started_at, e.ready_at,
       epoch(e.ready_at) - epoch(e.started_at) AS setup_s,
       e.first_seen_at, e.last_seen_at, e.requests_served::INTEGER AS requests_served,
       e.end_kind,
       CASE e.end_kind
            WHEN 'setup_failed' THEN coalesce(e.t.ts, e.setup_failed.ts)
            WHEN 'terminated' THEN coalesce(e.t.ts, e.k.ts)
            WHEN 'stopped' THEN e.stopped.ts END AS ended_at,
       CASE e.end_kind
            WHEN 'setup_failed' THEN coalesce(e.t.reason, 'setup_failed')
            WHEN 'terminated' THEN coalesce(e.t.reason, e.k.reason)
            WHEN 'stopped' THEN e.stopped.reason END AS end_reason,
       (e.end_kind = 'terminated' AND e.t IS NULL) AS end_inferred,
       CASE WHEN e.end_kind = 'terminated' THEN coalesce(e.t.request_id, e.k.request_id)
            END AS killed_by_request_id,
       CASE WHEN e.end_kind = 'terminated' AND (e.t IS NULL OR e.t.request_id IS NULL
                                                OR e.t.request_id = e.k.request_id)
            THEN e.k.attempt END AS killed_by_attempt,
       CASE e.end_kind
            WHEN 'setup_failed' THEN coalesce(e.t.event_id, e.setup_failed.event_id)
            WHEN 'terminated' THEN e.t.event_id
            WHEN 'stopped' THEN e.stopped.event_id END AS end_event_id,
       coalesce(o.offset_s, 0) AS clock_offset_s,
       coalesce(o.samples, 0) AS clock_samples,
       greatest(0, epoch(coalesce(CASE e.end_kind
                                      WHEN 'setup_failed' THEN coalesce(e.t.ts, e.setup_failed.ts)
                                      WHEN 'terminated' THEN coalesce(e.t.ts, e.k.ts)
                                      WHEN 'stopped' THEN e.stopped.ts END,
                                  e.last_seen_at))
                   - epoch(coalesce(e.started_at, e.first_seen_at))) AS gpu_seconds,
       epoch(e.ready_at) - epoch(e.started_at) AS cold_start_s,
       (e.end_kind = 'terminated' AND coalesce(e.k.needless, false)) AS needless_termination,
       coalesce(pp.usd_per_hour, (SELECT value FROM policy_scalar
                                  WHERE key = 'default_gpu_hour_usd')) AS price_usd_per_gpu_hour
FROM _rp_rend e LEFT JOIN clock_offsets o USING (runner_id)
LEFT JOIN policy_price pp ON pp.machine_type = e.machine_type
WHERE e.runner_id NOT IN (SELECT runner_id FROM replay_runners_given)
UNION ALL BY NAME
SELECT * FROM replay_runners_given
