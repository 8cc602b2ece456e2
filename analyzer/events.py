"""The native event log (format version 1) as pydantic models: the contract's section 1.

One JSON object per line. Every event has ``ts``, ``source`` and ``event``; the other
fields depend on the event. Unknown fields are allowed (``extra="allow"``) and unknown
event names validate as :class:`GenericEvent`, so newer writers never break older readers.

``FIELD_TYPES`` (defined in :mod:`analyzer.fields`, re-exported here) is the single list of
known fields and their SQL types; the store's ``events`` table and the importer's type checks
are derived from it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from analyzer.fields import FIELD_TYPES as FIELD_TYPES  # re-exported: part of this module's API
from analyzer.fields import FORMAT_VERSION, KNOWN_EVENTS
from analyzer.fields import GATEWAY_EVENTS as GATEWAY_EVENTS
from analyzer.fields import RUNNER_EVENTS as RUNNER_EVENTS

Source = Literal["gateway", "runner"]
Timestamp = datetime | float
"""RFC 3339 string (offset optional; none means UTC) or Unix seconds (fractions allowed)."""

AttemptFailure = Literal[
    "request_timeout",
    "runner_disconnected",
    "runner_connection_error",
    "runner_connection_refused",
    "runner_connection_timeout",
    "runner_incomplete_response",
]
RequeueReason = Literal["server_error", "timeout", "connection_error", "forced", "rate_limited"]
TerminationReason = Literal[
    "status_503",
    "stop_runner_header",
    "request_timeout",
    "connection_error",
    "health_check_failed",
    "startup_timeout",
    "setup_failed",
    "scaled_down",
    "crash",
]


class BaseEvent(BaseModel):
    """Fields every event has or may have."""

    model_config = ConfigDict(extra="allow")

    ts: Timestamp
    source: Source
    event: str
    app: str | None = None
    endpoint: str | None = None
    request_id: str | None = None
    runner_id: str | None = None
    attempt: Annotated[int, Field(ge=1)] | None = None
    message: str | None = None


# --- gateway events -------------------------------------------------------------------


class RequestReceived(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.received"] = "request.received"
    request_id: str
    mode: Literal["queue", "direct"] = "queue"
    deadline_s: float | None = None
    no_retry: bool | None = None


class AttemptDispatched(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["attempt.dispatched"] = "attempt.dispatched"
    request_id: str
    attempt: Annotated[int, Field(ge=1)]
    runner_id: str


class AttemptFinished(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["attempt.finished"] = "attempt.finished"
    request_id: str
    attempt: Annotated[int, Field(ge=1)]
    runner_id: str
    status: int
    error_type: str | None = None
    needs_retry: bool | None = None
    stop_runner: bool | None = None


class AttemptFailed(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["attempt.failed"] = "attempt.failed"
    request_id: str
    attempt: Annotated[int, Field(ge=1)]
    runner_id: str
    error_type: AttemptFailure


class RequestRequeued(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.requeued"] = "request.requeued"
    request_id: str
    attempt: Annotated[int, Field(ge=1)]
    reason: RequeueReason


class CancelRequested(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.cancel_requested"] = "request.cancel_requested"
    request_id: str


class CancelForwarded(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.cancel_forwarded"] = "request.cancel_forwarded"
    request_id: str
    runner_id: str
    attempt: Annotated[int, Field(ge=1)]


class ClientDisconnected(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.client_disconnected"] = "request.client_disconnected"
    request_id: str


class RequestCompleted(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["request.completed"] = "request.completed"
    request_id: str
    status: int
    error_type: str | None = None


class HealthCheck(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["runner.health_check"] = "runner.health_check"
    runner_id: str
    ok: bool


class RunnerTerminated(BaseEvent):
    source: Literal["gateway"] = "gateway"
    event: Literal["runner.terminated"] = "runner.terminated"
    runner_id: str
    reason: TerminationReason


# --- runner events --------------------------------------------------------------------


class RunnerStarted(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["runner.started"] = "runner.started"
    runner_id: str
    machine_type: str | None = None


class RunnerReady(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["runner.ready"] = "runner.ready"
    runner_id: str


class RunnerSetupFailed(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["runner.setup_failed"] = "runner.setup_failed"
    runner_id: str
    exc_type: str
    message: str


class RunnerStopped(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["runner.stopped"] = "runner.stopped"
    runner_id: str
    reason: str | None = None


class HandlerStarted(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["handler.started"] = "handler.started"
    request_id: str
    runner_id: str


class HandlerFinished(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["handler.finished"] = "handler.finished"
    request_id: str
    runner_id: str
    status: int


class HandlerError(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["handler.error"] = "handler.error"
    request_id: str
    runner_id: str
    exc_type: str
    message: str
    status: int


class HandlerCancelled(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["handler.cancelled"] = "handler.cancelled"
    request_id: str
    runner_id: str


class CancelReceived(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["cancel.received"] = "cancel.received"
    request_id: str
    runner_id: str
    outcome: Literal["cancelled", "no_task", "already_done", "error"]


class ChildStarted(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["child.started"] = "child.started"
    request_id: str
    runner_id: str
    child_id: str
    kind: Literal["task", "upstream", "stream"]
    name: str | None = None
    deadline_s: float | None = None


class ChildFinished(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["child.finished"] = "child.finished"
    request_id: str
    runner_id: str
    child_id: str
    outcome: Literal["ok", "error", "timeout"]


class ChildCancelled(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["child.cancelled"] = "child.cancelled"
    request_id: str
    runner_id: str
    child_id: str


class ResourceAcquired(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["resource.acquired"] = "resource.acquired"
    request_id: str
    runner_id: str
    resource_id: str
    kind: str | None = None


class ResourceReleased(BaseEvent):
    source: Literal["runner"] = "runner"
    event: Literal["resource.released"] = "resource.released"
    request_id: str
    runner_id: str
    resource_id: str
    kind: str | None = None


class LogLine(BaseEvent):
    event: Literal["log"] = "log"
    level: str | None = None
    message: str | None = None


class GenericEvent(BaseEvent):
    """An event whose name this version does not know: kept, counted, never rejected."""


EVENT_MODELS: dict[str, type[BaseEvent]] = {
    m.model_fields["event"].default: m
    for m in (
        RequestReceived,
        AttemptDispatched,
        AttemptFinished,
        AttemptFailed,
        RequestRequeued,
        CancelRequested,
        CancelForwarded,
        ClientDisconnected,
        RequestCompleted,
        HealthCheck,
        RunnerTerminated,
        RunnerStarted,
        RunnerReady,
        RunnerSetupFailed,
        RunnerStopped,
        HandlerStarted,
        HandlerFinished,
        HandlerError,
        HandlerCancelled,
        CancelReceived,
        ChildStarted,
        ChildFinished,
        ChildCancelled,
        ResourceAcquired,
        ResourceReleased,
        LogLine,
    )
}
assert set(EVENT_MODELS) == set(KNOWN_EVENTS), "EVENT_MODELS and KNOWN_EVENTS disagree"


def parse_event(obj: dict[str, Any]) -> BaseEvent:
    """Validate one decoded line against the model of its event (generic if unknown)."""
    model = EVENT_MODELS.get(str(obj.get("event")), GenericEvent)
    return model.model_validate(obj)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one line of the native log: any of the known events, or a generic one."""
    models: list[type[BaseEvent]] = [*EVENT_MODELS.values(), GenericEvent]
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"analyzer native event log, format version {FORMAT_VERSION}",
        "description": "One JSON object per line (JSON Lines). Unknown fields are kept; "
        "unknown event names are accepted as generic events.",
        "anyOf": [],
        "$defs": {},
    }
    for model in models:
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        for name, definition in sub.pop("$defs", {}).items():
            schema["$defs"][name] = definition
        schema["$defs"][model.__name__] = sub
        schema["anyOf"].append({"$ref": f"#/$defs/{model.__name__}"})
    return schema


def dumps(event: BaseEvent) -> str:
    """Serialise an event as one line of the native log (no None fields)."""
    data = event.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
