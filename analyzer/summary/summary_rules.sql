-- summary_rules: findings per app and rule, with each rule's own cost (plain sums: rules overlap,
-- so these do not add up to the findings' cost of summary_by_app).
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: findings
SELECT app, code, any_value(name) AS name, any_value(severity) AS severity,
       count(*)::BIGINT AS findings,
       coalesce(sum(runners_killed), 0)::BIGINT AS runners_killed,
       coalesce(sum(gpu_seconds), 0)::DOUBLE AS gpu_seconds,
       coalesce(sum(cost_usd), 0)::DOUBLE AS cost_usd
FROM {findings} GROUP BY app, code
