"""Write an incident, given as native events, in the platform's export shapes.

The platform exports what it knows; this writer keeps exactly that and drops the rest, so
importing the export shows what a user of the platform's own data can (and cannot) see:

- ``requests.json``: the request listing by endpoint, pages ``{"items", "next_cursor",
  "has_more"}``, one item per attempt (``runner_id``, ``sent_at`` = when the caller sent it,
  ``started_at`` = dispatch, ``ended_at`` = answer, ``status_code``, ``duration``);
- ``logs.json``: logs-history pages, newest first, naive UTC ``timestamp``, the level the
  platform infers from the text, ``app`` as the logs name it (without the owner) and ``labels``
  (``fal_job_id``; ``fal_request_id``/``fal_endpoint`` only while the SDK has them set). As a
  real runner prints it (tests/formats/fal_sdk): a ``handler.error`` is the SDK's
  ``{"traceback": ...}`` line, the access line of its answer and uvicorn's error block, all
  WITHOUT a request id; an answered call is an access line; a cancel the app could not honour a
  traceback and a 500 access line on ``<endpoint>/cancel``, a cancel that worked its 200 access
  line; a failed ``setup()`` uvicorn's startup traceback; ``log`` lines stay log lines;
- ``app-events.json``: app events (``runner_started``, ``runner_setup``,
  ``runner_startup_failure``, ``runner_stopping``, ``runner_finished``);
- ``runners.json``: the runner listing at the end of the window (runners still alive; the
  ``alias`` is the app without its owner).

All times are on the platform's (gateway's) clock: runner-side times are shifted by each
runner's clock offset estimated from dispatch / handler-start pairs, as an export stamped by
one system would be.

Lost on the way (the export has no field for it): attempt numbers, error types, the
``X-Fal-Needs-Retry`` / ``x-fal-stop-runner`` headers, the caller's deadline and
``x-fal-no-retry``, queue cancels and disconnects, forwarded cancels, child work, resources,
health checks, and the gateway/runner clock distinction of handler starts.

Usage: ``python -m analyzer.simulate.export_writer NATIVE_DIR OUT_DIR``.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PAGE_SIZE = 50
FAILURE_STATUS = {
    "request_timeout": 504,
    "runner_incomplete_response": 502,
}  # other attempt failures (connection errors, disconnects) answer 503


@dataclass(frozen=True)
class ExportSummary:
    """What was written."""

    requests: int
    items: int
    log_lines: int
    app_events: int
    runners: int
    files: tuple[Path, ...]


def read_native(path: Path) -> Iterator[dict[str, Any]]:
    """Native events of a file or a directory (skipping names starting with ``_`` or ``.``)."""
    files = (
        [path]
        if path.is_file()
        else sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
            and p.name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"))
        )
    )
    for file in files:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj, dict):
                        yield obj


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _iso(epoch: float, *, naive: bool = False) -> str:
    text = datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "" if naive else "Z")


def runner_offsets(evs: list[dict[str, Any]]) -> dict[str, float]:
    """Each runner's clock minus the gateway's, from the k-th dispatch / k-th handler start of
    each (request, runner): the median difference (a network hop is milliseconds)."""
    dispatched: dict[tuple[str, str], list[float]] = defaultdict(list)
    started: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in evs:
        key = (str(e.get("request_id")), str(e.get("runner_id")))
        if e.get("event") == "attempt.dispatched":
            dispatched[key].append(_epoch(e["ts"]))
        elif e.get("event") == "handler.started":
            started[key].append(_epoch(e["ts"]))
    diffs: dict[str, list[float]] = defaultdict(list)
    for key, starts in started.items():
        for gateway, runner in zip(sorted(dispatched.get(key, [])), sorted(starts), strict=False):
            diffs[key[1]].append(runner - gateway)
    return {rid: statistics.median(values) for rid, values in diffs.items()}


def traceback_message(exc_type: str, message: str, endpoint: str) -> str:
    """The SDK's traceback log line: JSON, exception line first, frames most recent first."""
    func = endpoint.strip("/").replace("/", "_") or "handler"
    frames = [
        f"{exc_type}: {message}" if message else exc_type,
        '  File "/app/pipeline.py", line 88, in run',
        "    return self.model(**inputs)",
        f'  File "/app/main.py", line 41, in {func}',
        "    result = await self.pipeline.run(payload)",
        '  File "/usr/local/lib/python3.11/site-packages/fal/app.py", line 312, in wrapper',
        "    return await func(*args, **kwargs)",
        "Traceback (most recent call last):",
    ]
    return json.dumps({"traceback": "\n".join(frames) + "\n"})


def write_export(events: Iterable[dict[str, Any]], out: Path) -> ExportSummary:
    """Write the four export files of ``events`` into ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    evs = list(events)
    offsets = runner_offsets(evs)
    for e in evs:  # the platform stamps its exports with its own clock
        if e.get("source") == "runner" and e.get("runner_id") in offsets:
            e["ts"] = _epoch(e["ts"]) - offsets[str(e["runner_id"])]
    evs.sort(key=lambda e: _epoch(e["ts"]))
    items = _request_items(evs)
    logs = _log_items(evs)
    app_events = _app_events(evs)
    runners = _runner_listing(evs)
    files = (
        _write_pages(out / "requests.json", items),
        _write_pages(out / "logs.json", sorted(logs, key=lambda i: i["timestamp"], reverse=True)),
        _write_pages(out / "app-events.json", app_events),
        _write_json(out / "runners.json", runners),
    )
    return ExportSummary(
        requests=len({i["request_id"] for i in items}),
        items=len(items),
        log_lines=len(logs),
        app_events=len(app_events),
        runners=len(runners["runners"]),
        files=files,
    )


def _request_items(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in evs:
        if e.get("source") == "gateway" and e.get("request_id"):
            by_request[str(e["request_id"])].append(e)
    items: list[dict[str, Any]] = []
    for request_id, gw in by_request.items():
        received = next((e for e in gw if e["event"] == "request.received"), None)
        completed = next((e for e in reversed(gw) if e["event"] == "request.completed"), None)
        app = (received or gw[0]).get("app") or ""
        endpoint = (received or gw[0]).get("endpoint") or ""
        endpoint_id = app + endpoint if endpoint.startswith("/") else app
        sent = _epoch((received or gw[0])["ts"])
        dispatches = [e for e in gw if e["event"] == "attempt.dispatched"]
        answers = {
            (e.get("attempt"), e.get("runner_id")): e
            for e in gw
            if e["event"] in ("attempt.finished", "attempt.failed")
        }
        base = {"request_id": request_id, "endpoint_id": endpoint_id, "sent_at": _iso(sent)}
        if not dispatches:
            done = _epoch(completed["ts"]) if completed else None
            items.append(
                dict(
                    base,
                    runner_id=None,
                    started_at=None,
                    ended_at=_iso(done) if done else None,
                    status_code=completed.get("status") if completed else None,
                    duration=None,
                )
            )
            continue
        for d in dispatches:
            answer = answers.get((d.get("attempt"), d.get("runner_id")))
            started = _epoch(d["ts"])
            ended = _epoch(answer["ts"]) if answer else None
            status = None
            if answer is not None:
                status = (
                    answer.get("status")
                    if answer["event"] == "attempt.finished"
                    else (FAILURE_STATUS.get(str(answer.get("error_type")), 503))
                )
            items.append(
                dict(
                    base,
                    runner_id=d.get("runner_id"),
                    started_at=_iso(started),
                    ended_at=_iso(ended) if ended is not None else None,
                    status_code=status,
                    duration=round(ended - started, 3) if ended is not None else None,
                )
            )
    items.sort(key=lambda i: (i["sent_at"], i["started_at"] or ""))
    return items


def _labels(e: dict[str, Any], endpoint: str | None = None, *, request: bool = True) -> dict:
    """The labels the platform attaches: always the runner; the request id and endpoint only
    while the SDK has them set (``request=False``: cleared, as for a failed request's lines)."""
    labels = {
        "fal_job_id": e.get("runner_id"),
        "fal_request_id": e.get("request_id") if request else None,
        "fal_endpoint": (endpoint if endpoint is not None else e.get("endpoint"))
        if request
        else None,
        "isolate_source": "USER",
    }
    return {k: v for k, v in labels.items() if v is not None}


PHRASES = {200: "OK", 422: "Unprocessable Entity", 429: "Too Many Requests", 499: ""}
PHRASES.update({500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"})
PHRASES.update({504: "Gateway Timeout", 400: "Bad Request", 404: "Not Found"})
CANCEL_FAILURES = {
    "no_task": ("ValueError", "No task to cancel"),
    "already_done": ("ValueError", "Task is already done"),
    "error": ("RuntimeError", "cancel failed"),
}


def access_line(path: str, status: int, client: int) -> str:
    """uvicorn's access line for one answered call (499 has no phrase)."""
    phrase = PHRASES.get(status, "")
    return f'INFO:     10.0.{client // 250 % 250}.{client % 250 + 1}:{40000 + client % 20000} - "POST {path} HTTP/1.1" {status} {phrase}'


def error_block(exc_type: str, message: str, endpoint: str) -> list[str]:
    """uvicorn's copy of an unhandled exception: one log record per line, normal order."""
    func = endpoint.strip("/").replace("/", "_") or "handler"
    return [
        "ERROR:    Exception in ASGI application",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.11/site-packages/uvicorn/protocols/http/h11_impl.py", '
        "line 407, in run_asgi",
        "    result = await app(  # type: ignore[func-returns-value]",
        f'  File "/app/main.py", line 41, in {func}',
        "    result = await self.pipeline.run(payload)",
        f"{exc_type}: {message}" if message else exc_type,
    ]


def level_of(text: str) -> str:
    """The level the platform infers from a line's text."""
    if text.startswith("Traceback (most recent call last):"):
        return "TRACE"
    if text.startswith("ERROR:"):
        return "ERROR"
    if text.startswith("[debug]"):
        return "DEBUG"
    return "INFO"


def _bare(app: Any) -> Any:
    """The app as the logs and the runner listing name it: without its owner."""
    return app.split("/", 1)[-1] if isinstance(app, str) else app


def _log_items(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    logs: list[dict[str, Any]] = []
    endpoints = {
        str(e["request_id"]): e.get("endpoint")
        for e in evs
        if e.get("event") == "request.received" and e.get("request_id")
    }
    calls = 0

    def add(e: dict[str, Any], offset_s: float, text: str, labels: dict[str, Any]) -> None:
        ts = _iso(_epoch(e["ts"]) + offset_s, naive=True)
        base = {"timestamp": ts, "app": _bare(e.get("app")), "revision": "rev-1"}
        logs.append(dict(base, level=level_of(text), message=text, labels=labels))

    def failure(e: dict[str, Any], exc: str, text: str, path: str, status: int) -> None:
        nonlocal calls
        calls += 1
        bare = _labels(e, request=False)
        add(e, 0.0, traceback_message(exc, text, path), bare)
        add(e, 0.001, access_line(path, status, calls), bare)
        for line in error_block(exc, text, path):
            add(e, 0.002, line, bare)

    for e in evs:
        if e.get("source") != "runner":
            continue
        name = e["event"]
        endpoint = e.get("endpoint") or endpoints.get(str(e.get("request_id"))) or "/"
        if name == "handler.error":
            exc, text = str(e.get("exc_type") or "Exception"), str(e.get("message") or "")
            failure(e, exc, text, endpoint, int(e.get("status") or 500))
        elif name in ("handler.finished", "handler.cancelled"):
            calls += 1
            status = 499 if name == "handler.cancelled" else int(e.get("status") or 200)
            add(e, 0.0, access_line(endpoint, status, calls), _labels(e, endpoint))
        elif name == "cancel.received" and e.get("outcome") in CANCEL_FAILURES:
            exc, text = CANCEL_FAILURES[str(e["outcome"])]
            failure(e, exc, text, endpoint.rstrip("/") + "/cancel", 500)
        elif name == "cancel.received":
            calls += 1
            path = endpoint.rstrip("/") + "/cancel"
            add(e, 0.0, access_line(path, 200, calls), _labels(e, path))
        elif name == "runner.setup_failed":
            exc, text = str(e.get("exc_type") or "Exception"), str(e.get("message") or "")
            lines = [
                "ERROR:    Traceback (most recent call last):",
                '  File "/app/main.py", line 12, in setup',
                "    self.model = load_model()",
                f"{exc}: {text}" if text else exc,
                "",
                "ERROR:    Application startup failed. Exiting.",
            ]
            for line in lines:
                add(e, 0.0, line, _labels(e, request=False))
        elif name == "log":
            text = str(e.get("message") or "")
            add(e, 0.0, text, _labels(e))
    return logs


def _app_event(e: dict[str, Any], category: str, state: str, reason: str | None) -> dict[str, Any]:
    return {
        "event_id": None,
        "created_at": _iso(_epoch(e["ts"])),
        "category": category,
        "payload": {
            "job_id": e.get("runner_id"),
            "reason": reason,
            "state": state,
            "machine_type": e.get("machine_type"),
        },
    }


def _app_events(evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in evs:
        name = e.get("event")
        if name == "runner.started":
            out.append(_app_event(e, "runner_started", "SETUP", None))
        elif name == "runner.ready":
            out.append(_app_event(e, "runner_setup", "IDLE", "setup complete"))
        elif name == "runner.setup_failed":
            reason = f"{e.get('exc_type')}: {e.get('message')}"
            out.append(_app_event(e, "runner_startup_failure", "SETUP", reason))
        elif name == "runner.terminated" and e.get("reason") == "startup_timeout":
            out.append(_app_event(e, "runner_startup_failure", "SETUP", "startup_timeout"))
        elif name == "runner.terminated":
            out.append(_app_event(e, "runner_stopping", "TERMINATING", str(e.get("reason"))))
        elif name == "runner.stopped":
            out.append(_app_event(e, "runner_finished", "TERMINATED", e.get("reason")))
    for number, item in enumerate(out, start=1):
        item["event_id"] = f"evt-{number:06d}"
    return out


def _runner_listing(evs: list[dict[str, Any]]) -> dict[str, Any]:
    end = _epoch(evs[-1]["ts"]) if evs else 0.0
    started: dict[str, dict[str, Any]] = {}
    ended: set[str] = set()
    for e in evs:
        rid = e.get("runner_id")
        if not rid:
            continue
        if e.get("event") == "runner.started":
            started.setdefault(str(rid), e)
        elif e.get("event") in ("runner.terminated", "runner.stopped", "runner.setup_failed"):
            ended.add(str(rid))
    runners = [
        {
            "alias": _bare(e.get("app")),
            "machine_type": e.get("machine_type"),
            "runner_id": rid,
            "in_flight_requests": 0,
            "expiration_countdown": None,
            "uptime_seconds": round(end - _epoch(e["ts"]), 1),
            "revision": "rev-1",
            "state": "IDLE",
            "replacement": None,
        }
        for rid, e in started.items()
        if rid not in ended
    ]
    return {"timestamp": _iso(end), "runners": runners}


def _write_pages(path: Path, items: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        pages = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)] or [[]]
        for number, page in enumerate(pages, start=1):
            more = number < len(pages)
            doc = {
                "items": page,
                "next_cursor": f"page-{number + 1}" if more else None,
                "has_more": more,
            }
            fh.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def _write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m analyzer.simulate.export_writer NATIVE_DIR OUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m analyzer.simulate.export_writer NATIVE_DIR OUT_DIR", file=sys.stderr
        )
        return 2
    summary = write_export(read_native(Path(args[0])), Path(args[1]))
    print(
        f"wrote {summary.items} request items ({summary.requests} requests), "
        f"{summary.log_lines} log lines, {summary.app_events} app events, "
        f"{summary.runners} runners to {args[1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
