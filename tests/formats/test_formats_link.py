"""Cross-file link: a traceback's handler.error takes the status the request listing recorded."""

from __future__ import annotations

import duckdb
from formats_helpers import FIXTURES, load_rows, parse_file

from analyzer.importers.formats.link import link_statuses
from analyzer.store import connect


def _status(con: duckdb.DuckDBPyConnection, request_id: str, runner_id: str) -> tuple[int, str]:
    row = con.execute(
        "SELECT status, extra->>'status_from' FROM events WHERE event = 'handler.error' "
        "AND request_id = ? AND runner_id = ?",
        [request_id, runner_id],
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def test_listing_status_replaces_the_sdk_mapping_in_any_import_order() -> None:
    for order in (("fal_logs", "fal_requests"), ("fal_requests", "fal_logs")):
        con = connect(":memory:")
        files = {"fal_logs": "log_drain.ndjson", "fal_requests": "requests_page.json"}
        for fmt in order:
            rows, _ = parse_file(fmt, FIXTURES / files[fmt])
            load_rows(con, rows, fmt, files[fmt])
        # before: KeyError maps to 500 in the SDK; the listing says the runner answered 503
        assert _status(con, "req-poison-1", "run-a1") == (500, "sdk_mapping")
        link_statuses(con)
        assert _status(con, "req-poison-1", "run-a1") == (503, "request_listing")
        link_statuses(con)  # idempotent
        assert _status(con, "req-poison-1", "run-a1") == (503, "request_listing")
        con.close()
