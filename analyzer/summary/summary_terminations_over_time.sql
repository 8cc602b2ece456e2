-- summary_terminations_over_time: runners terminated per app, time bucket and reason; the bucket width
-- as in summary_requests_over_time.
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: runners
WITH width AS (
    SELECT {bucket_width} AS s
    FROM (SELECT min(ended_at) AS lo, max(ended_at) AS hi FROM {runners}
          WHERE end_kind = 'terminated' AND ended_at IS NOT NULL)
)
SELECT r.app, time_bucket(to_seconds(w.s), r.ended_at) AS bucket,
       coalesce(r.end_reason, 'unknown') AS "group", count(*)::BIGINT AS n,
       any_value(w.s)::INTEGER AS bucket_seconds
FROM {runners} r, width w WHERE r.end_kind = 'terminated' AND r.ended_at IS NOT NULL GROUP BY ALL
