"""Cross-file links between foreign formats, run after every import (set-based SQL).

A traceback in the platform's logs says which exception a handler raised, but not the status
the platform answered; the request listing says the status but not the exception. When both
are imported (in any order), each ``handler.error`` from ``fal_logs`` takes the status of the
matching ``attempt.finished`` from ``fal_requests`` (same request and runner; the answer nearest
in time when a request ran twice on one runner), and ``extra.status_from`` says so.

The listing also shows an attempt the platform cut at its ``request_timeout`` as a plain 504;
the app events show the runner terminated for ``request_timeout`` at that moment. Together
they are the native ``attempt.failed`` (``request_timeout``): such a 504 row (origin
``fal_requests``, its runner terminated for ``request_timeout`` within
``TIMEOUT_LINK_S`` seconds) is turned into one, its status kept in ``extra.listed_status``.

(A 503 whose runner the listing shows taking another attempt was told ``x-fal-stop-runner:
false``: that inference belongs to the replay, ``attempts.stop_runner_inferred``; the imported
events stay as the files say.)
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from analyzer.importers.formats.fal_attribution import attribute_lines

LINK_STATUS_SQL = """
UPDATE events AS e
SET status = m.status,
    extra = json_merge_patch(coalesce(e.extra, '{}'::JSON),
                             '{"status_from": "request_listing"}'::JSON)
FROM (
    SELECT h.event_id, arg_min(a.status, abs(epoch(a.ts) - epoch(h.ts))) AS status
    FROM events h
    JOIN events a
      ON a.origin = 'fal_requests' AND a.event = 'attempt.finished'
     AND a.request_id = h.request_id AND a.runner_id = h.runner_id
    WHERE h.origin = 'fal_logs' AND h.event = 'handler.error'
    GROUP BY h.event_id
) AS m
WHERE e.event_id = m.event_id
  AND (e.status IS DISTINCT FROM m.status
       OR e.extra->>'status_from' IS DISTINCT FROM 'request_listing')
"""


TIMEOUT_LINK_S = 5.0

LINK_TIMEOUT_SQL = """
UPDATE events AS e
SET event = 'attempt.failed', error_type = 'request_timeout', status = NULL,
    extra = json_merge_patch(coalesce(e.extra, '{}'::JSON),
                             json_object('listed_status', e.status))
WHERE e.origin = 'fal_requests' AND e.event = 'attempt.finished' AND e.status = 504
  AND EXISTS (
      SELECT 1 FROM events t
      WHERE t.event = 'runner.terminated' AND t.reason = 'request_timeout'
        AND t.runner_id = e.runner_id
        AND abs(epoch(t.ts) - epoch(e.ts)) <= ?
  )
"""


def link_timeouts(con: duckdb.DuckDBPyConnection) -> None:
    """Turn listed 504s whose runner was killed for ``request_timeout`` into the failure."""
    con.execute(LINK_TIMEOUT_SQL, [TIMEOUT_LINK_S])


def link_statuses(con: duckdb.DuckDBPyConnection) -> None:
    """Give traceback-derived ``handler.error`` events the status the listing recorded."""
    con.execute(LINK_STATUS_SQL)


NORMALISE_APPS_SQL = """
UPDATE events AS e
SET app = m.full_name,
    extra = json_merge_patch(coalesce(e.extra, '{}'::JSON), json_object('app_as_exported', e.app))
FROM (
    SELECT split_part(app, '/', 2) AS bare, min(app) AS full_name
    FROM events
    WHERE starts_with(origin, 'fal_') AND app LIKE '%/%'
    GROUP BY 1 HAVING count(DISTINCT app) = 1
) AS m
WHERE starts_with(e.origin, 'fal_') AND e.app = m.bare
"""


RUNNER_APPS_SQL = """
UPDATE events AS e
SET app = m.app
FROM (
    SELECT runner_id, min(app) AS app FROM events
    WHERE starts_with(origin, 'fal_') AND runner_id IS NOT NULL AND app IS NOT NULL
    GROUP BY 1 HAVING count(DISTINCT app) = 1
) AS m
WHERE starts_with(e.origin, 'fal_') AND e.app IS NULL AND e.runner_id = m.runner_id
"""


def normalise_apps(con: duckdb.DuckDBPyConnection) -> None:
    """App names as ``owner/app`` wherever any platform export names the owner: the logs and
    the runner listings name the bare app (or its alias), the request listing ``owner/app``.
    A bare name two owners share is left as it is (``extra.app_as_exported`` keeps the name
    the export used). An event without an app (app events) takes its runner's app."""
    con.execute(NORMALISE_APPS_SQL)
    con.execute(RUNNER_APPS_SQL)


POST_IMPORT: tuple[Callable[[duckdb.DuckDBPyConnection], None], ...] = (
    normalise_apps,
    attribute_lines,
    link_timeouts,
    link_statuses,
)
"""Run by the importer after each import run, whatever formats it read."""
