-- Each runner event's aligned time and attempt (what the timeline view needs).
-- kind: table
-- inputs: _rp_rev
SELECT event_id, ts, att AS attempt FROM _rp_rev
