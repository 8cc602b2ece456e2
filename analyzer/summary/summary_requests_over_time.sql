-- summary_requests_over_time: requests received per app, time bucket and outcome; the bucket width
-- ({bucket_width}: about 80 buckets over the span, analyzer/summary/template.py) is a column.
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: requests
WITH width AS (
    SELECT {bucket_width} AS s
    FROM (SELECT min(received_at) AS lo, max(received_at) AS hi FROM {requests}
          WHERE received_at IS NOT NULL)
)
SELECT r.app, time_bucket(to_seconds(w.s), r.received_at) AS bucket,
       coalesce(r.outcome, 'unknown') AS "group", count(*)::BIGINT AS n,
       any_value(w.s)::INTEGER AS bucket_seconds
FROM {requests} r, width w WHERE r.received_at IS NOT NULL GROUP BY ALL
