"""A recorded timeline in the platform's export shapes, with the labels the platform attaches.

- ``requests.json``: the request listing by endpoint, pages ``{"items", "next_cursor",
  "has_more"}``, one item per attempt of ``/predict`` (``endpoint_id`` is ``owner/app/path``);
  the runner's ``/cancel`` calls are not requests of the listing;
- ``logs.json``: logs-history pages ``{"items", "next_until", "has_more"}``, newest first, every
  printed line one item: naive UTC ``timestamp``, the level the platform infers from the text,
  ``app`` as the logs name it (the bare app name), ``labels`` with ``fal_job_id`` (the runner),
  ``fal_request_id``/``fal_endpoint`` only where the SDK had them set, ``logged_at``;
- ``app-events.json``: runner lifecycle app events (started, setup done, startup failure,
  stopping with the platform's reason, finished);
- ``runners.json``: the runners REST listing (``application``, ``started_at``, ``finished_at``,
  lower-case states, no uptime).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analyzer.simulate.export_writer import level_of  # the level the platform infers

EPOCH = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
OWNER = "acme"
APPS = {"case_app:CaseApp": "cases", "seed000_cancellation:MyApp": "cancel-demo"}
QUEUE_S = 0.05  # the caller's send, before the first dispatch
PAGE = 40


def _at(t: float) -> datetime:
    return EPOCH + timedelta(seconds=t)


def _iso(t: float, naive: bool = False) -> str:
    text = _at(t).isoformat(timespec="microseconds")
    return text.replace("+00:00", "" if naive else "Z")


def _pages(items: list[dict[str, Any]], cursor_key: str, cursor: Any) -> str:
    chunks = [items[i : i + PAGE] for i in range(0, len(items), PAGE)] or [[]]
    docs = []
    for number, chunk in enumerate(chunks, start=1):
        more = number < len(chunks)
        docs.append({"items": chunk, cursor_key: cursor(chunk) if more else None, "has_more": more})
    return "".join(json.dumps(d, indent=2) + "\n" for d in docs)


def listing(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runners = {r["runner_id"]: r for r in timeline if r["kind"] == "runner"}
    calls = [r for r in timeline if r["kind"] == "call" and r["path"] == "/predict"]
    first_sent: dict[str, float] = {}
    for call in calls:
        first_sent.setdefault(call["request_id"], call["sent"])
    items = []
    for call in sorted(calls, key=lambda c: c["sent"]):
        app = APPS[runners[call["runner_id"]]["app"]]
        items.append(
            {
                "request_id": call["request_id"],
                "endpoint_id": f"{OWNER}/{app}{call['path']}",
                "runner_id": call["runner_id"],
                "sent_at": _iso(first_sent[call["request_id"]] - QUEUE_S),
                "started_at": _iso(call["sent"]),
                "ended_at": _iso(call["answered"]),
                "status_code": call["status"],
                "duration": round(call["answered"] - call["sent"], 4),
            }
        )
    return items


def log_items(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runners = {r["runner_id"]: r for r in timeline if r["kind"] == "runner"}
    items = []
    for r in timeline:
        if r["kind"] != "line":
            continue
        labels: dict[str, Any] = {"fal_job_id": r["runner_id"], **r["labels"]}
        labels.update(isolate_source="USER", logged_at=_at(r["t"]).isoformat())
        items.append(
            {
                "timestamp": _iso(r["t"], naive=True),
                "level": level_of(r["text"]),
                "message": r["text"],
                "app": APPS[runners[r["runner_id"]]["app"]],
                "revision": "rev-1",
                "labels": labels,
            }
        )
    items.sort(key=lambda i: i["timestamp"])
    items.reverse()  # pages come newest first (lines of one instant too)
    return items


def app_events(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[tuple[float, str, str | None, str, dict[str, Any]]] = []
    for r in (r for r in timeline if r["kind"] == "runner"):
        out.append((r["started"], "runner_started", None, "SETUP", r))
        if "ready" in r:
            out.append((r["ready"], "runner_setup", "setup complete", "IDLE", r))
        if r.get("exit_code") == 3:
            out.append((r["stopped"], "runner_startup_failure", "setup() failed", "SETUP", r))
            continue
        if "stop_reason" in r:
            out.append((r["stopping"], "runner_stopping", r["stop_reason"], "TERMINATING", r))
        elif "stopping" in r:
            out.append((r["stopping"], "runner_draining", "scaled down", "DRAINING", r))
        out.append((r["stopped"], "runner_finished", None, "TERMINATED", r))
    out.sort(key=lambda e: e[0])
    return [
        {
            "event_id": f"evt-{number:04d}",
            "created_at": _iso(t),
            "category": category,
            "payload": {
                "job_id": r["runner_id"],
                "machine_type": "GPU-H100",
                "reason": reason,
                "state": state,
            },
        }
        for number, (t, category, reason, state, r) in enumerate(out, start=1)
    ]


def runners_rest(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    items = []
    for r in (r for r in timeline if r["kind"] == "runner"):
        state = "failed" if r.get("exit_code") == 3 else "terminated"
        items.append(
            {
                "runner_id": r["runner_id"],
                "application": APPS[r["app"]],
                "machine_type": "GPU-H100",
                "started_at": _iso(r["started"]),
                "finished_at": _iso(r["stopped"]),
                "state": state,
            }
        )
    return {"items": items, "next_cursor": None, "has_more": False}


def write(timeline: list[dict[str, Any]], out: Path) -> list[Path]:
    """The four export files of ``timeline`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "requests.json": _pages(listing(timeline), "next_cursor", lambda c: c[-1]["request_id"]),
        "logs.json": _pages(log_items(timeline), "next_until", lambda c: c[-1]["timestamp"]),
        "app-events.json": _pages(app_events(timeline), "next_cursor", lambda c: c[-1]["event_id"]),
        "runners.json": json.dumps(runners_rest(timeline), indent=2) + "\n",
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]
