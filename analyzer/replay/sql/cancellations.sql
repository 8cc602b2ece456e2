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
-- inputs: _rp_cjoin, _rp_window
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
FROM _rp_cjoin
