-- summary_outcomes: requests per app and outcome (the overview's outcome counts).
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: requests
SELECT app, outcome, count(*)::BIGINT AS requests FROM {requests} GROUP BY app, outcome
