-- Per request: received, completed, the first cancel and disconnect (gateway).
-- kind: temp
-- inputs: _rp_pending, replay_events
SELECT request_id,
       min(ts) FILTER (WHERE event = 'request.received') AS received_at,
       arg_min({'event_id': event_id, 'mode': mode, 'deadline_s': deadline_s,
                 'no_retry': no_retry, 'app': app, 'endpoint': endpoint}, k)
           FILTER (WHERE event = 'request.received') AS recv,
       max(ts) FILTER (WHERE event = 'request.completed') AS completed_at,
       arg_max({'event_id': event_id, 'status': status, 'error_type': error_type}, k)
           FILTER (WHERE event = 'request.completed') AS done,
       arg_min({'ts': ts, 'event_id': event_id}, k)
           FILTER (WHERE event = 'request.cancel_requested') AS cancel,
       arg_min({'ts': ts, 'event_id': event_id}, k)
           FILTER (WHERE event = 'request.client_disconnected') AS disconnect
FROM (SELECT *, (epoch_us(ts)::HUGEINT << 40) + event_id AS k  -- ties: by event id
      FROM replay_events) e
WHERE source = 'gateway' AND request_id IS NOT NULL
  AND event IN ('request.received', 'request.completed', 'request.cancel_requested',
                'request.client_disconnected')
  AND event_id NOT IN (SELECT event_id FROM _rp_pending)
GROUP BY request_id
