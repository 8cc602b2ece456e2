-- summary_requests_over_time: requests received per app, time bucket and outcome.
-- inputs: requests (requests); parameter: the bucket width in seconds.
SELECT app, time_bucket(to_seconds(?::BIGINT), received_at) AS bucket,
       coalesce(outcome, 'unknown') AS "group", count(*)::BIGINT AS n
FROM {requests} WHERE received_at IS NOT NULL GROUP BY ALL
