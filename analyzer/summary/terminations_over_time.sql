-- summary_terminations_over_time: runners terminated per app, time bucket and reason.
-- inputs: runners (runners); parameter: the bucket width in seconds.
SELECT app, time_bucket(to_seconds(?::BIGINT), ended_at) AS bucket,
       coalesce(end_reason, 'unknown') AS "group", count(*)::BIGINT AS n
FROM {runners} WHERE end_kind = 'terminated' AND ended_at IS NOT NULL GROUP BY ALL
