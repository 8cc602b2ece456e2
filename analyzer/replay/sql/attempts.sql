-- One row per attempt: the observed consequence next to the policy's, the waste and its price.
-- kind: table
-- inputs: _rp_acost, _rp_attempts
SELECT a.*, c.wasted AS gpu_seconds_wasted,
       c.wasted / 3600 * a.price_usd_per_gpu_hour AS wasted_usd
FROM _rp_attempts a
LEFT JOIN _rp_acost c ON c.request_id = a.request_id AND c.attempt = a.attempt
