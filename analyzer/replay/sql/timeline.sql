-- Every event of a request, gateway and runners merged, aligned, in causal order.
--
-- The ``timeline`` view: every event of a request, gateway and runners merged, aligned.
--
-- A view, not a table: it is computed when queried, from ``events`` and the persisted
-- ``event_alignment`` (each runner event's aligned time and attempt), ``attempts`` and
-- ``children``. Filtering on ``request_id`` (``analyzer timeline``, the dashboard) reads only that
-- request's rows; materialising 1.7 M rows on every replay would cost more than the whole rest.
--
-- Causal order = aligned time, then the natural order of the lifecycle for events at the same
-- instant (received < dispatched < handler started < ... < answer < termination < requeue <
-- completed), then event id. Lanes: ``gateway``; ``attempt N · RUNNER`` for the runner's handler
-- events; ``child CHILD_ID (KIND)`` for child work. Terminations linked to the request (logged with
-- or without its request id) are included; inferred terminations appear as a ``runner.terminated``
-- row with ``inferred`` true and no event id.
-- kind: view
-- inputs: attempts, children, event_alignment, events
WITH rows AS (
    SELECT e.request_id, coalesce(r.ts, e.ts) AS ts, e.ts AS ts_raw,
           CASE WHEN e.source = 'runner' THEN r.attempt ELSE e.attempt END AS attempt,
           e.runner_id, e.child_id, e.event, e.event_id, e.source,
           e.status, e.error_type, e.exc_type, e.message, e.outcome, e.reason, e.mode,
           e.deadline_s, e.no_retry, e.needs_retry, e.stop_runner, e.kind, e.name,
           e.resource_id, e.ok, false AS inferred
    FROM events e LEFT JOIN event_alignment r ON r.event_id = e.event_id
    WHERE e.request_id IS NOT NULL
    UNION ALL
    SELECT a.request_id, e.ts, e.ts, a.attempt, e.runner_id, NULL, e.event, e.event_id,
           'gateway', NULL, NULL, NULL, NULL, NULL, e.reason, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, false
    FROM attempts a JOIN events e ON e.event_id = a.terminated_event_id
    WHERE e.request_id IS DISTINCT FROM a.request_id
    UNION ALL
    SELECT request_id, terminated_at, NULL, attempt, runner_id, NULL, 'runner.terminated', NULL,
           'gateway', NULL, NULL, NULL, NULL, NULL, termination_reason, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, true
    FROM attempts WHERE termination_inferred
),
rows2 AS (SELECT *, coalesce(MAP {'request.received': 0, 'attempt.dispatched': 1,
    'handler.started': 2, 'child.started': 3, 'resource.acquired': 3, 'request.cancel_requested': 4,
    'request.client_disconnected': 4, 'request.cancel_forwarded': 5, 'cancel.received': 6,
    'handler.finished': 8, 'handler.error': 8, 'handler.cancelled': 8, 'attempt.finished': 9,
    'attempt.failed': 9, 'runner.terminated': 10, 'request.requeued': 11,
    'request.completed': 12}[event], 7) AS rank_, nullif(concat_ws(' · ',
    CASE WHEN status IS NOT NULL THEN 'status ' || status END,
    error_type,
    CASE WHEN exc_type IS NOT NULL THEN exc_type || coalesce(': ' || message, '')
         WHEN message IS NOT NULL AND event IN ('log', 'runner.setup_failed') THEN message END,
    CASE WHEN outcome IS NOT NULL THEN 'outcome ' || outcome END,
    CASE WHEN reason IS NOT NULL THEN 'reason ' || reason END,
    CASE WHEN mode IS NOT NULL THEN 'mode ' || mode END,
    CASE WHEN deadline_s IS NOT NULL THEN 'deadline ' || deadline_s || ' s' END,
    CASE WHEN no_retry THEN 'x-fal-no-retry' END,
    CASE WHEN needs_retry IS NOT NULL THEN 'needs-retry ' || needs_retry END,
    CASE WHEN stop_runner IS NOT NULL THEN 'stop-runner ' || stop_runner END,
    CASE WHEN event IN ('attempt.dispatched', 'runner.terminated', 'request.cancel_forwarded')
         THEN 'runner ' || runner_id END,
    CASE WHEN event = 'child.started' THEN coalesce(kind || ' ', '') || coalesce(name, '') END,
    CASE WHEN resource_id IS NOT NULL THEN 'resource ' || resource_id
                                           || coalesce(' (' || kind || ')', '') END,
    CASE WHEN event = 'runner.health_check' THEN 'ok ' || ok END,
    CASE WHEN inferred THEN 'inferred: no sign of life from the runner after this answer' END), '') AS detail FROM rows)
SELECT r.request_id,
       row_number() OVER (PARTITION BY r.request_id
                          ORDER BY r.ts, r.rank_, r.event_id NULLS LAST)::INTEGER AS seq,
       r.ts, r.ts_raw,
       CASE WHEN r.source = 'gateway' THEN 'gateway'
            WHEN r.child_id IS NOT NULL
                 THEN 'child ' || r.child_id || coalesce(' (' || k.kind || ')', '')
            ELSE 'attempt ' || coalesce(r.attempt::VARCHAR, '?') || ' · '
                 || coalesce(r.runner_id, '?') END AS lane,
       CASE WHEN r.source = 'gateway' THEN 'gateway'
            WHEN r.child_id IS NOT NULL THEN 'child' ELSE 'runner' END AS lane_kind,
       r.attempt, r.runner_id, r.child_id, r.event, r.detail, r.event_id, r.inferred
FROM rows2 r
LEFT JOIN children k ON k.request_id = r.request_id AND k.runner_id IS NOT DISTINCT FROM r.runner_id
                 AND k.child_id = r.child_id
