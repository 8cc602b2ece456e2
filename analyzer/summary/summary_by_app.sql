-- summary_by_app: every headline number of docs/tables.md ("Headline numbers"), one row per app.
-- {finding_cost}: the findings' cost, analyzer/rules/totals.py's FINDING_COST_SQL.
-- Placeholders ({requests}...) name the inputs: the API runs the same text over filtered rows.
-- kind: summary
-- inputs: requests, runners, findings
WITH apps AS (
    SELECT app FROM {requests} UNION SELECT app FROM {runners} UNION SELECT app FROM {findings}
),
req AS (
    SELECT app, count(*) AS requests, coalesce(sum(attempts), 0) AS attempts,
           count(*) FILTER (outcome = 'success') AS requests_succeeded,
           count(*) FILTER (outcome <> 'in_flight') AS requests_completed,
           coalesce(sum(gpu_seconds), 0) AS gpu_seconds_used,
           coalesce(sum(gpu_seconds_wasted), 0) AS gpu_seconds_wasted,
           coalesce(sum(wasted_usd), 0) AS usd_wasted,
           min(received_at) AS window_start, max(coalesce(completed_at, received_at)) AS window_end
    FROM {requests} GROUP BY app
),
run AS (
    SELECT app, count(*) AS runners,
           count(*) FILTER (end_kind = 'terminated') AS runners_terminated,
           count(*) FILTER (needless_termination) AS runners_killed_needlessly,
           count(*) FILTER (end_kind = 'setup_failed') AS runners_setup_failed,
           coalesce(sum(cold_start_s), 0) AS cold_start_seconds
    FROM {runners} GROUP BY app
),
fnd AS (
    SELECT app, count(*) AS findings, count(*) FILTER (severity = 'error') AS findings_error,
           count(*) FILTER (severity = 'warning') AS findings_warning,
           count(*) FILTER (severity = 'info') AS findings_info
    FROM {findings} GROUP BY app
),
cost AS ({finding_cost})
SELECT a.app,
       coalesce(req.requests, 0)::BIGINT AS requests,
       coalesce(req.attempts, 0)::BIGINT AS attempts,
       coalesce(req.requests_succeeded, 0)::BIGINT AS requests_succeeded,
       coalesce(req.requests_completed, 0)::BIGINT AS requests_completed,
       coalesce(run.runners, 0)::BIGINT AS runners,
       coalesce(run.runners_terminated, 0)::BIGINT AS runners_terminated,
       coalesce(run.runners_killed_needlessly, 0)::BIGINT AS runners_killed_needlessly,
       coalesce(run.runners_setup_failed, 0)::BIGINT AS runners_setup_failed,
       coalesce(run.cold_start_seconds, 0)::DOUBLE AS cold_start_seconds,
       coalesce(req.gpu_seconds_used, 0)::DOUBLE AS gpu_seconds_used,
       coalesce(req.gpu_seconds_wasted, 0)::DOUBLE AS gpu_seconds_wasted,
       coalesce(req.usd_wasted, 0)::DOUBLE AS usd_wasted,
       coalesce(fnd.findings, 0)::BIGINT AS findings,
       coalesce(fnd.findings_error, 0)::BIGINT AS findings_error,
       coalesce(fnd.findings_warning, 0)::BIGINT AS findings_warning,
       coalesce(fnd.findings_info, 0)::BIGINT AS findings_info,
       coalesce(cost.runners_killed, 0)::BIGINT AS runners_killed,
       coalesce(cost.gpu_seconds, 0)::DOUBLE AS gpu_seconds,
       coalesce(cost.cost_usd, 0)::DOUBLE AS cost_usd,
       req.window_start, req.window_end
FROM apps a
LEFT JOIN req ON req.app IS NOT DISTINCT FROM a.app
LEFT JOIN run ON run.app IS NOT DISTINCT FROM a.app
LEFT JOIN fnd ON fnd.app IS NOT DISTINCT FROM a.app
LEFT JOIN cost ON cost.app IS NOT DISTINCT FROM a.app
