-- summary_terminations: runners terminated per app and reason (every termination, scaled_down
-- included: "runners terminated" in docs/tables.md).
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: runners
SELECT app, coalesce(end_reason, 'unknown') AS end_reason, count(*)::BIGINT AS runners
FROM {runners} WHERE end_kind = 'terminated' GROUP BY ALL
