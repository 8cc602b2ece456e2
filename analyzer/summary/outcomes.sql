-- summary_outcomes: requests per app and outcome (the overview's outcome counts).
-- inputs: requests (requests)
SELECT app, outcome, count(*)::BIGINT AS requests FROM {requests} GROUP BY app, outcome
