"""A log whose ids and messages try to take over the output (issue 17, point 7).

One request (S001: an ordinary error answered 503, the runner killed) whose request id,
runner id and error message carry HTML that Plotly would render, terminal escape sequences,
a control character XML cannot hold and a right-to-left override.
"""

from __future__ import annotations

import json
from pathlib import Path

REQUEST = 'req-<a href="https://evil.example/">click</a>\u202eexe.\u0001?x=1&y=2#f'
RUNNER = 'w-<span style="font-size:200px">HUGE</span>\u202e'
MESSAGE = "unsupported triton kernel option \x1b]0;pwned\x07\x1b[2J\x1b[31mred\r\u202edesrever"
ESCAPES = ("\x1b", "\x07", "\u202e", "\u0001", "\r")
"""Characters that must never reach a terminal or a page raw."""

FILE_NAME = "gateway-\x1b[31m\u202e.jsonl"
BAD_FILE_NAME = "bad-\x1b]0;pwned\x07\u202e.jsonl"
"""A file with one line that is not JSON: the import summary names it."""


def _ev(ts: float, source: str, event: str, **fields: object) -> str:
    stamp = f"2026-11-20T14:00:{ts:06.3f}Z"
    return json.dumps({"ts": stamp, "source": source, "event": event, "app": "acme/x",
                       "endpoint": "/predict", **fields})  # fmt: skip


def write(folder: Path) -> Path:
    """Write the hostile log into ``folder`` (file name included); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    r, w = REQUEST, RUNNER
    lines = [
        _ev(0.0, "runner", "runner.started", runner_id=w, machine_type="GPU-H100"),
        _ev(0.5, "runner", "runner.ready", runner_id=w),
        _ev(1.0, "gateway", "request.received", request_id=r, mode="direct"),
        _ev(1.1, "gateway", "attempt.dispatched", request_id=r, attempt=1, runner_id=w),
        _ev(1.2, "runner", "handler.started", request_id=r, runner_id=w),
        _ev(2.0, "runner", "handler.error", request_id=r, runner_id=w, status=503,
            exc_type="ValueError", message=MESSAGE),
        _ev(2.1, "gateway", "attempt.finished", request_id=r, attempt=1, runner_id=w, status=503),
        _ev(2.1, "gateway", "request.completed", request_id=r, status=503),
        _ev(2.2, "gateway", "runner.terminated", runner_id=w, reason="status_503", request_id=r),
    ]  # fmt: skip
    (folder / FILE_NAME).write_text("\n".join(lines) + "\n")
    (folder / BAD_FILE_NAME).write_text("not json \x1b[2J\x07\n")
    return folder
