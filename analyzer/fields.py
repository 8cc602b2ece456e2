"""The known fields and event names of the native log, as plain data.

Kept apart from the pydantic models of :mod:`analyzer.events` (which re-exports them) so
that the importer and the store can use them without importing pydantic: every command
pays for what it imports at start-up.
"""

from __future__ import annotations

FORMAT_VERSION = 1

# Every known field of the native format with its DuckDB type. Order = column order.
FIELD_TYPES: dict[str, str] = {
    "ts": "TIMESTAMPTZ",
    "source": "VARCHAR",
    "event": "VARCHAR",
    "app": "VARCHAR",
    "endpoint": "VARCHAR",
    "request_id": "VARCHAR",
    "runner_id": "VARCHAR",
    "attempt": "INTEGER",
    "message": "VARCHAR",
    "mode": "VARCHAR",
    "deadline_s": "DOUBLE",
    "no_retry": "BOOLEAN",
    "status": "INTEGER",
    "error_type": "VARCHAR",
    "needs_retry": "BOOLEAN",
    "stop_runner": "BOOLEAN",
    "reason": "VARCHAR",
    "ok": "BOOLEAN",
    "machine_type": "VARCHAR",
    "exc_type": "VARCHAR",
    "outcome": "VARCHAR",
    "child_id": "VARCHAR",
    "kind": "VARCHAR",
    "name": "VARCHAR",
    "resource_id": "VARCHAR",
    "level": "VARCHAR",
}

GATEWAY_EVENTS = (
    "request.received",
    "attempt.dispatched",
    "attempt.finished",
    "attempt.failed",
    "request.requeued",
    "request.cancel_requested",
    "request.cancel_forwarded",
    "request.client_disconnected",
    "request.completed",
    "runner.health_check",
    "runner.terminated",
)
RUNNER_EVENTS = (
    "runner.started",
    "runner.ready",
    "runner.setup_failed",
    "runner.stopped",
    "handler.started",
    "handler.finished",
    "handler.error",
    "handler.cancelled",
    "cancel.received",
    "child.started",
    "child.finished",
    "child.cancelled",
    "resource.acquired",
    "resource.released",
    "log",
)
KNOWN_EVENTS = GATEWAY_EVENTS + RUNNER_EVENTS
