"""L rules: runner lifecycle loops, and the platform not doing what its policy says."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from analyzer.rules.base import Rule, RuleOptions
from analyzer.rules.status import ATTEMPT_HIT


class L001Options(RuleOptions):
    min_runners: int = Field(default=3, ge=2, description="failed runners in one window")
    window_s: float = Field(default=600.0, gt=0, description="the window, in seconds")


class L001(Rule):
    """Three or more runners of one app failed `setup()` or hit `startup_timeout` in a window.

    **When it fires**: at least `min_runners` (3) runners of one app logged
    `runner.setup_failed`, or were terminated for `setup_failed` / `startup_timeout`, within
    `window_s` (10 minutes). One finding per app per burst (failures closer than the window to
    each other); the runners are in the evidence.

    **Why it matters**: "If setup() fails or the web server port never opens, the runner is
    immediately terminated as unhealthy" and replaced; the requests stay queued. A broken
    deployment (a missing module, weights that cannot be downloaded) becomes a loop of GPU
    machines booting, failing and being replaced while the queue grows. With backoff the
    platform waits longer and longer between attempts.

    **Anti-pattern**: deploying without running `setup()` once; downloading weights from a
    flaky source in `setup()` with no retry.

    **Best practice**: warm up in `setup()` in a staging deploy first, fail fast with a clear
    error, and give a slow but healthy setup a realistic `startup_timeout`.

    ```python
    class MyApp(fal.App):
        startup_timeout = 900
        def setup(self):
            self.model = load_model()   # fails loudly at deploy time, not per runner
            self.model.warmup()
    ```
    """

    code = "L001"
    name = "lifecycle.setup-failure-loop"
    severity = "error"
    Options = L001Options

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            """
            WITH fail_events AS (
                SELECT e.runner_id, e.app, e.ts, e.event_id, e.exc_type, e.reason, e.event
                FROM events e
                WHERE e.runner_id IS NOT NULL
                  AND (e.event = 'runner.setup_failed'
                       OR (e.event = 'runner.terminated'
                           AND e.reason IN ('setup_failed', 'startup_timeout')))
            ),
            per_runner AS (
                SELECT f.runner_id, coalesce(any_value(f.app), any_value(r.app)) AS app,
                       min(f.ts) AS failed_at, list(f.event_id ORDER BY f.ts) AS ids,
                       coalesce(min(f.exc_type),
                                CASE WHEN bool_or(f.reason = 'startup_timeout')
                                     THEN 'startup_timeout' ELSE 'setup_failed' END) AS why
                FROM fail_events f LEFT JOIN runners r ON r.runner_id = f.runner_id
                GROUP BY f.runner_id
            ),
            windowed AS (
                SELECT *,
                  count(*) OVER (PARTITION BY app ORDER BY failed_at RANGE BETWEEN CURRENT ROW
                                 AND to_seconds(?::DOUBLE) FOLLOWING) AS n_in_window,
                  CASE WHEN failed_at - lag(failed_at) OVER (PARTITION BY app ORDER BY failed_at)
                            <= to_seconds(?::DOUBLE) THEN 0 ELSE 1 END AS new_burst
                FROM per_runner
            ),
            bursts AS (
                SELECT *, sum(new_burst) OVER (PARTITION BY app ORDER BY failed_at, runner_id
                                               ROWS UNBOUNDED PRECEDING) AS burst
                FROM windowed
            ),
            sized AS (
                SELECT *, max(n_in_window) OVER (PARTITION BY app, burst) AS peak,
                          count(*) OVER (PARTITION BY app, burst) AS runners,
                          min(failed_at) OVER (PARTITION BY app, burst) AS burst_start,
                          max(failed_at) OVER (PARTITION BY app, burst) AS burst_end,
                          first(why ORDER BY failed_at) OVER (PARTITION BY app, burst) AS first_why
                FROM bursts
            )
            SELECT coalesce(app, '?') || '#' || burst::VARCHAR AS subject,
              epoch(failed_at) AS ord, app, NULL AS endpoint, NULL AS request_id, runner_id,
              failed_at AS ts,
              format('{} runners failed setup() or startup in {} min ({})', runners,
                     round((epoch(burst_end) - epoch(burst_start)) / 60.0, 1), first_why)
                AS message,
              ids AS evidence_ids, 1 AS runners_killed, []::INTEGER[] AS blamed_attempts,
              first_why AS signature
            FROM sized WHERE peak >= ?
            """,
            [options.window_s, options.window_s, options.min_runners],
        )


PLATFORM_ORIGIN = "(g.origin = 'native' OR g.origin LIKE 'fal\\_%' ESCAPE '\\')"
"""Events the platform itself wrote (its gateway's logs, its exports), as an SQL predicate."""


def platform(event_id: str) -> str:
    """SQL: the event ``event_id`` (an attempt's column) was written by the platform. One
    EXISTS per column (a hash semi-join each): an ``IN (a, b, c)`` list in one correlated
    EXISTS is a nested loop over ``events`` (37 s at 200k requests, 0.2 s this way)."""
    return (
        f"EXISTS (SELECT 1 FROM events g WHERE g.event_id = {event_id} "
        f"AND NOT g.inferred AND {PLATFORM_ORIGIN})"
    )


class L002(Rule):
    """What the platform did disagrees with its policy: the logs are incomplete or it changed.

    **When it fires**: an attempt the replay marks as a deviation: the observed runner impact
    or retry disagrees with the policy (a 503 without `stop_runner: false` after which the same
    runner keeps serving, a retry the policy forbids, a retry missing). A runner that merely
    went silent after a 503 is an *inferred* termination, not a deviation. Only where the
    platform's gateway is observed: one of the attempt's dispatch, answer or termination events
    was written by the platform (native logs or a fal export), not by a proxy (nginx, Envoy)
    nor inferred from an app's own traces (OpenTelemetry), which show no platform behaviour.

    **Why it matters**: every other rule reasons from the documented policy ("503 — the runner
    is immediately terminated", "4XX ... never retried", "Direct calls ... are never retried").
    When the platform does something else, either logs are missing (fix the collection before
    trusting the other findings) or the platform's behaviour changed (update the policy file).

    **Anti-pattern**: reading findings from partial logs; keeping an outdated policy.

    **Best practice**: collect gateway and runner logs for the same window, and record a
    platform change as a policy override rather than ignoring it.

    ```toml
    # analyzer-policy.toml, passed with [tool.analyzer] policy = "analyzer-policy.toml"
    retry_429 = "retried"
    ```
    """

    code = "L002"
    name = "lifecycle.policy-deviation"
    severity = "info"

    def sql(self, options: Any) -> tuple[str, list[Any]]:
        return (
            f"""
            WITH seen AS (  -- deviations one of whose events the platform wrote: the deviations'
                            -- event ids joined once (three EXISTS scan ``events`` three times)
              SELECT DISTINCT d.request_id, d.attempt
              FROM (SELECT request_id, attempt,
                           unnest([dispatched_event_id, answered_event_id, terminated_event_id])
                               AS event_id
                    FROM attempts WHERE deviation) d
              JOIN events g ON g.event_id = d.event_id
              WHERE NOT g.inferred AND {PLATFORM_ORIGIN}
            )
            SELECT {ATTEMPT_HIT},
              format('attempt {{}}: {{}}', a.attempt,
                     coalesce(a.deviation_reason, 'the platform did not follow the policy'))
                AS message,
              [a.answered_event_id, a.terminated_event_id, a.dispatched_event_id,
               a.handler_end_event_id] AS evidence_ids,
              0 AS runners_killed, []::INTEGER[] AS blamed_attempts,
              coalesce(a.deviation_reason, 'deviation') AS signature
            FROM attempts a SEMI JOIN seen s ON s.request_id = a.request_id AND s.attempt = a.attempt
            WHERE a.deviation
            """,
            [],
        )


RULES: tuple[type[Rule], ...] = (L001, L002)
