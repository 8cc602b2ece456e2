"""Serve real ``fal.App`` classes on the loopback and record what each runner answers and prints.

A :class:`Runner` is one process of ``runner.py`` (the SDK's own ``App.serve()``, bound to
127.0.0.1 on free ports). Every line it prints is stamped on arrival with the wall clock and its
stream; every call the driver makes is stamped when sent and when answered. A :class:`Recorder`
collects both into one timeline per scenario; :func:`label_lines` then gives each line the log
labels the platform would attach, emulating the SDK's own label handling (``fal/app.py``,
``set_log_context``): a call's arrival sets ``fal_request_id``/``fal_endpoint`` on the runner
(labels are per runner, the last call wins); an unhandled exception clears them before the
traceback is printed; a handled answer clears them once its access line is out.

Everything is bounded in time: a runner that is not up within ``START_TIMEOUT_S`` fails the run,
every call has a timeout, and :meth:`Runner.stop` sends SIGTERM, then SIGKILL after
``STOP_TIMEOUT_S``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "lint" / "seeds"
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 20.0
CALL_TIMEOUT_S = 60.0
QUIET_S = 0.3
SETTLE_MAX_S = 15.0
ANSWER_HEADERS = ("x-fal-stop-runner", "x-fal-needs-retry", "x-fal-billable-units")
SITE = re.compile(r"/\S*?/site-packages/")
PLATFORM_SITE = "/usr/local/lib/python3.11/site-packages/"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PACKAGES = "[debug] Python packages installed: "
KEPT_PACKAGES = ("fal==", "fastapi==", "pydantic==", "uvicorn==")


def neutral(text: str) -> str:
    """A line with this machine's paths replaced by the platform's (recordings are portable),
    and the start-up package list cut to the packages that shape the answers."""
    if text.startswith(PACKAGES):
        kept = [p for p in text[len(PACKAGES) :].split(", ") if p.startswith(KEPT_PACKAGES)]
        return PACKAGES + ", ".join(sorted(kept))
    text = text.replace(str(HERE) + "/", "/app/").replace(str(SEEDS) + "/", "/app/")
    return SITE.sub(PLATFORM_SITE, text)


@dataclass
class Recorder:
    """One scenario's timeline: runners, calls and printed lines, times relative to ``t0``."""

    t0: float = field(default_factory=time.time)
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return round(time.time() - self.t0, 4)

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.records.append(record)
        return record


class Runner:
    """One runner process serving ``target`` (``module:Class``) on free loopback ports."""

    def __init__(
        self, rec: Recorder, runner_id: str, target: str, env: dict[str, str] | None = None
    ) -> None:
        self.rec, self.runner_id, self.target = rec, runner_id, target
        self.port, self.metrics_port = free_port(), free_port()
        self.ready = threading.Event()
        self.last_line = time.monotonic()
        self.tracebacks = 0  # the SDK's {"traceback"} lines seen
        self.error_blocks = 0  # uvicorn's "Exception in ASGI application" blocks seen
        self.info = rec.add({"kind": "runner", "runner_id": runner_id, "app": target})
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "runner.py"),
                target,
                str(self.port),
                str(self.metrics_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            cwd=str(HERE),
        )
        self.info["started"] = rec.now()
        self.threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _read(self, stream: Any, name: str) -> None:
        for raw in stream:
            self.last_line = time.monotonic()
            text = neutral(raw.decode("utf-8", errors="replace").rstrip("\n"))
            self.rec.add(
                {
                    "kind": "line",
                    "runner_id": self.runner_id,
                    "t": self.rec.now(),
                    "stream": name,
                    "text": text,
                }
            )
            if name == "stderr" and f"Uvicorn running on http://127.0.0.1:{self.port}" in text:
                self.info["ready"] = self.rec.now()
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None:
                raise RuntimeError(f"runner {self.runner_id} exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"runner {self.runner_id} not up in {START_TIMEOUT_S} s")
        self.settle()

    def settle(self, quiet_s: float = QUIET_S) -> None:
        """Wait until the runner has printed nothing for ``quiet_s`` (uvicorn's error block
        arrives after the answer): the next call then cannot take its lines."""
        start = time.monotonic()
        deadline = start + SETTLE_MAX_S
        while self.error_blocks < self.tracebacks and time.monotonic() < deadline:
            time.sleep(quiet_s / 4)  # uvicorn's copy of the traceback comes after the answer
        while time.monotonic() - max(self.last_line, start) < quiet_s:
            if time.monotonic() > deadline:
                break
            time.sleep(quiet_s / 4)

    def wait_exit(self) -> int:
        """For a runner expected to exit by itself (a failing ``setup()``)."""
        try:
            code = self.proc.wait(START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self._finish(code)
        return code

    def stop(self) -> int:
        """SIGTERM (what the platform sends), SIGKILL if it has not exited in time."""
        if self.proc.poll() is None:
            self.info["stopping"] = self.rec.now()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        self._finish(self.proc.returncode)
        return int(self.proc.returncode)

    def _finish(self, code: int) -> None:
        for thread in self.threads:
            thread.join(STOP_TIMEOUT_S)
        self.info.setdefault("stopped", self.rec.now())
        self.info["exit_code"] = code

    def call(
        self,
        path: str,
        body: Any,
        request_id: str | None,
        *,
        attempt: int | None = None,
        slow_body_s: float = 0.0,
        on_sent: threading.Event | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` to ``path`` with the gateway's headers; record sent/answered."""
        headers = {"content-type": "application/json", "x-fal-endpoint": path}
        if request_id is not None:
            headers["x-fal-request-id"] = request_id
        record: dict[str, Any] = {
            "kind": "call",
            "runner_id": self.runner_id,
            "request_id": request_id,
            "path": path,
            "attempt": attempt,
            "body_sent": body,
        }
        payload = json.dumps(body).encode()
        content: Any = payload
        if slow_body_s:
            content = _trickle(payload, slow_body_s)
        record["sent"] = self.rec.now()
        self.rec.add(record)
        if on_sent is not None:
            on_sent.set()
        response = httpx.post(
            f"http://127.0.0.1:{self.port}{path}",
            content=content,
            headers=headers,
            timeout=CALL_TIMEOUT_S,
        )
        record["answered"] = self.rec.now()
        record["status"] = response.status_code
        record["headers"] = {
            k: response.headers[k] for k in ANSWER_HEADERS if k in response.headers
        }
        try:
            record["body"] = response.json()
        except ValueError:
            record["body"] = response.text
        self.settle()
        return record


def _trickle(payload: bytes, seconds: float) -> Any:
    """A request body sent in two halves ``seconds`` apart (a slow upload)."""
    half = len(payload) // 2

    def chunks() -> Any:
        yield payload[:half]
        time.sleep(seconds)
        yield payload[half:]

    return chunks()


ACCESS = re.compile(
    r'^INFO:\s+\S+ - "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})'
)


def label_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline in order, each line with the labels the platform would have attached."""
    order = sorted(
        enumerate(records),
        key=lambda item: (item[1].get("t", item[1].get("sent", 0.0)), item[0]),
    )
    labels: dict[str, dict[str, str]] = {}
    out: list[dict[str, Any]] = []
    for _, record in order:
        if record["kind"] == "call":
            if record.get("request_id"):
                labels[record["runner_id"]] = {
                    "fal_request_id": record["request_id"],
                    "fal_endpoint": record["path"],
                }
            out.append(record)
        elif record["kind"] == "line":
            current = labels.get(record["runner_id"], {})
            if record["stream"] == "stdout" and record["text"].startswith('{"traceback"'):
                current = labels[record["runner_id"]] = {}  # cleared before the print
            record["labels"] = dict(current)
            if ACCESS.match(record["text"]):
                labels[record["runner_id"]] = {}  # cleared once the answer is out
            out.append(record)
        else:
            out.append(record)
    return out


_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")
_VARYING = (
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:*"),
    (re.compile(r"process \[\d+\]"), "process [*]"),
    (re.compile(r"(site-packages/\S+?\.py)(:\d+|\", line \d+)"), r"\1:*"),
)


def _normal(text: str) -> str:
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def _sdk_traceback(text: str) -> str:
    """The SDK's ``{"traceback"}`` line reduced to its exception line and the app's frames."""
    lines = json.loads(text)["traceback"].splitlines()
    app_frames = [line.strip() for line in lines if line.strip().startswith('File "/app/')]
    return json.dumps({"traceback": [lines[0], *app_frames]})


def comparable(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """What must match between a recording and a live run: every call's answer, and per runner
    and stream the printed lines in order with their labels -- uvicorn's traceback frames
    (indented lines: library paths and line numbers) left out, ports and pids blanked."""
    calls = sorted(
        (
            (
                r["runner_id"],
                str(r["request_id"]),
                r["path"],
                r["status"],
                json.dumps(r["headers"], sort_keys=True),
                json.dumps(r["body"], sort_keys=True),
            )
            for r in timeline
            if r["kind"] == "call"
        ),
    )
    streams: dict[str, list[tuple[str, str, str]]] = {}
    for r in timeline:
        if r["kind"] != "line" or r["text"][:1].isspace():
            continue
        text = r["text"]
        if text.startswith('{"traceback"'):
            text = _sdk_traceback(text)
        labels = r["labels"]
        streams.setdefault(f"{r['runner_id']} {r['stream']}", []).append(
            (_normal(text), labels.get("fal_request_id", ""), labels.get("fal_endpoint", ""))
        )
    runners = sorted(
        (r["runner_id"], r["app"], r.get("exit_code"), "ready" in r)
        for r in timeline
        if r["kind"] == "runner"
    )
    return {"calls": calls, "streams": streams, "runners": runners}


FIXTURES = HERE.parent / "fixtures" / "fal_sdk"


def record_all() -> dict[str, list[dict[str, Any]]]:
    """Every scenario on live runners, the scenarios side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from scenarios import SCENARIOS, record

    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        return dict(zip(SCENARIOS, pool.map(record, SCENARIOS), strict=True))


def main() -> int:
    """Regenerate the recordings and their export shapes: ``python tests/formats/fal_sdk/
    harness.py`` (writes tests/formats/fixtures/fal_sdk/)."""
    import shapes

    for name, timeline in record_all().items():
        FIXTURES.mkdir(parents=True, exist_ok=True)
        path = FIXTURES / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in timeline), encoding="utf-8")
        written = shapes.write(timeline, FIXTURES / name)
        print(f"{path}: {len(timeline)} records; " + ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
