"""A real FastAPI app instrumented with OpenTelemetry, driven by a real client (issue 12).

Run as a script: ``python otel_fastapi_app.py OUT_DIR``. It serves, on 127.0.0.1 free ports
under uvicorn, the app (opentelemetry-instrumentation-fastapi, header ``x-fal-request-id``
captured) and a second local service it calls through an instrumented httpx client; a plain
httpx client drives every case once, then both servers stop and the script exits (bounded:
``DEADLINE_S``). Each span is exported three ways, and log records once:

- ``console.json``: the SDK's ``ConsoleSpanExporter`` (pretty-printed JSON, ``0x`` hex ids);
- ``otlp.jsonl``: the SDK's own OTLP encoder (``encode_spans``) through protobuf's
  ``MessageToJson``, one ``ExportTraceServiceRequest`` per line (base64 ids);
- ``split.1.jsonl`` then ``split.2.jsonl``: the same, rotated to a second file once every
  request has been answered, so the detached child of ``req-leak`` lands in the second file
  while its parent is in the first;
- ``logs.jsonl``: the app's log records (Python logging via the SDK's ``LoggingHandler``),
  ``encode_logs`` + ``MessageToJson``: one signal per file.

Cases (request id: what the app really does):

- ``req-normal``: calls the second service, answers 200;
- ``req-disconnect``: long work; the client gives up after 0.5 s, the handler sees the
  disconnect and cancels its work;
- ``req-cancelled``: long work, cancelled through ``/predict/cancel`` (which answers 200);
- ``req-unknown``: ``/predict/cancel`` for an id with no task: ``ValueError("No task to cancel")``
  escapes as a 500 (seed 000's pattern);
- ``req-leak``: the handler cancels itself but leaves a detached child task running 5 s;
- ``req-triton``: a ``ValueError`` mentioning triton, answered 503;
- ``req-oom``: a CUDA out-of-memory ``RuntimeError``, answered 503;
- ``req-bug``: a ``ValueError`` escaping as a 500;
- ``req-fake504``: a 504 with no upstream timeout;
- ``req-timeout504``: a 504 after a real ``httpx.ReadTimeout`` calling the second service.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToJson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

DEADLINE_S = 60.0
LEAK_S = 5.0
APP_RUNNER = "runner-app-1"
CASES = (
    "req-normal",
    "req-disconnect",
    "req-cancelled",
    "req-unknown",
    "req-leak",
    "req-triton",
    "req-oom",
    "req-bug",
    "req-fake504",
    "req-timeout504",
)


class OtlpJsonExporter(SpanExporter):
    """Spans as OTLP/JSON lines through the SDK's encoder and ``MessageToJson``; ``rotate()``
    switches to the next file (as a rotating file exporter would)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self.index = 0
        self.out: IO[str] = self.paths[0].open("w", encoding="utf-8")

    def rotate(self) -> None:
        self.out.close()
        self.index += 1
        self.out = self.paths[self.index].open("w", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.out.write(MessageToJson(encode_spans(spans), indent=None) + "\n")
        self.out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if not self.out.closed:
            self.out.close()


class OtlpJsonLogExporter(LogRecordExporter):
    """Log records as OTLP/JSON lines (``encode_logs`` + ``MessageToJson``)."""

    def __init__(self, path: Path) -> None:
        self.out = path.open("w", encoding="utf-8")

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.out.write(MessageToJson(encode_logs(batch), indent=None) + "\n")
        self.out.flush()
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.out.flush()
        return True

    def shutdown(self) -> None:
        if not self.out.closed:
            self.out.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _provider(service: str, runner: str, exporters: Sequence[SpanExporter]) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.instance.id": runner})
    )
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


_TASKS: dict[str, asyncio.Task[None]] = {}
_DETACHED: list[asyncio.Task[None]] = []
log = logging.getLogger("otel-app")


def build_app(provider: TracerProvider, downstream: str) -> tuple[FastAPI, httpx.AsyncClient]:
    """The instrumented app; its client to the second service is instrumented too."""
    app = FastAPI()
    tracer = provider.get_tracer("otel-app")
    client = httpx.AsyncClient(base_url=downstream)
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)

    async def work(seconds: float) -> None:
        with tracer.start_as_current_span("generate") as span:
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError as exc:
                span.record_exception(exc)
                raise

    async def preview() -> None:
        with tracer.start_as_current_span("encode-preview"):
            await asyncio.sleep(LEAK_S)

    def cancelled(exc: BaseException) -> JSONResponse:
        trace.get_current_span().record_exception(exc)
        return JSONResponse(status_code=499, content={"detail": "cancelled"})

    @app.post("/predict")
    async def predict(request: Request, case: str, x_fal_request_id: str = Header(...)) -> Any:
        log.info("predict %s", case)
        if case == "normal":
            (await client.get("/embed")).raise_for_status()
            return {"ok": True}
        if case == "slow":  # registered, cancellable, stops when the client goes away
            task = asyncio.create_task(work(10.0))
            _TASKS[x_fal_request_id] = task
            try:
                while not task.done():
                    if await request.is_disconnected():
                        task.cancel()
                    await asyncio.wait({task}, timeout=0.05)
                await task
                return {"ok": True}
            except asyncio.CancelledError as exc:
                return cancelled(exc)
            finally:
                _TASKS.pop(x_fal_request_id, None)
        if case == "leak":  # the bug: a detached child nobody cancels
            _DETACHED.append(asyncio.create_task(preview()))
            try:
                own = asyncio.create_task(work(10.0))
                await asyncio.sleep(0.1)
                own.cancel()
                await own
            except asyncio.CancelledError as exc:
                return cancelled(exc)
        if case in ("triton", "oom"):
            try:
                if case == "triton":
                    raise ValueError("triton inference server: model 'sdxl' is not ready")
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            except (ValueError, RuntimeError) as exc:
                trace.get_current_span().record_exception(exc)
                return JSONResponse(status_code=503, content={"detail": str(exc)})
        if case == "bug":
            raise ValueError("prompt must be a string")
        if case == "fake504":
            await asyncio.sleep(0.05)
            return JSONResponse(status_code=504, content={"detail": "upstream timed out"})
        if case == "timeout504":
            try:
                await client.get("/slow", timeout=0.3)
            except httpx.ReadTimeout:
                return JSONResponse(status_code=504, content={"detail": "embedder timed out"})
        return JSONResponse(status_code=400, content={"detail": f"unknown case {case}"})

    @app.post("/predict/cancel")
    async def predict_cancel(x_fal_request_id: str = Header(...)) -> Any:
        if x_fal_request_id not in _TASKS:
            raise ValueError("No task to cancel")
        _TASKS[x_fal_request_id].cancel()
        return {"cancelled": x_fal_request_id}

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, http_capture_headers_server_request=["x-fal-request-id"]
    )
    return app, client


def build_downstream(provider: TracerProvider) -> FastAPI:
    """The second local service: a quick answer and a slow one."""
    app = FastAPI()

    @app.get("/embed")
    async def embed() -> dict[str, list[float]]:
        await asyncio.sleep(0.02)
        return {"vector": [0.1, 0.2]}

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(1.0)
        return {"ok": True}

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


async def drive(base: str, rotate: Any) -> dict[str, int | str]:
    """The real client: every case once; returns what it saw per request id."""
    seen: dict[str, int | str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:

        async def call(rid: str, case: str, timeout: float = 10.0) -> None:
            try:
                r = await client.post(
                    "/predict",
                    params={"case": case},
                    headers={"x-fal-request-id": rid},
                    timeout=timeout,
                )
                seen[rid] = r.status_code
            except httpx.ReadTimeout:
                seen[rid] = "gave up"

        await call("req-normal", "normal")
        await call("req-disconnect", "slow", timeout=0.5)
        pending = asyncio.create_task(call("req-cancelled", "slow"))
        await asyncio.sleep(0.5)
        r = await client.post("/predict/cancel", headers={"x-fal-request-id": "req-cancelled"})
        seen["cancel req-cancelled"] = r.status_code
        await pending
        r = await client.post("/predict/cancel", headers={"x-fal-request-id": "req-unknown"})
        seen["req-unknown"] = r.status_code
        await call("req-leak", "leak")
        for rid in ("triton", "oom", "bug", "fake504", "timeout504"):
            await call(f"req-{rid}", rid)
    await asyncio.sleep(0.3)  # let the disconnected handler notice and end
    rotate()  # every request answered: the detached child ends in the next file
    await asyncio.gather(*_DETACHED)
    return seen


async def serve_and_drive(out: Path) -> dict[str, int | str]:
    console = (out / "console.json").open("w", encoding="utf-8")
    otlp = OtlpJsonExporter([out / "otlp.jsonl"])
    split = OtlpJsonExporter([out / "split.1.jsonl", out / "split.2.jsonl"])
    exporters = [ConsoleSpanExporter(out=console), otlp, split]
    app_provider = _provider("acme/otel-app", APP_RUNNER, exporters)
    down_provider = _provider("acme/embedder", "embedder-1", exporters)
    logs = LoggerProvider(resource=app_provider.resource)
    logs.add_log_record_processor(SimpleLogRecordProcessor(OtlpJsonLogExporter(out / "logs.jsonl")))
    log.addHandler(LoggingHandler(logger_provider=logs))
    log.setLevel(logging.INFO)
    log.propagate = False

    app_port, down_port = _free_port(), _free_port()
    app, app_client = build_app(app_provider, f"http://127.0.0.1:{down_port}")
    servers = [
        uvicorn.Server(uvicorn.Config(a, host="127.0.0.1", port=p, log_level="warning"))
        for a, p in ((app, app_port), (build_downstream(down_provider), down_port))
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    try:
        while not all(s.started for s in servers):
            await asyncio.sleep(0.02)
        return await drive(f"http://127.0.0.1:{app_port}", split.rotate)
    finally:
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await app_client.aclose()
        for provider in (app_provider, down_provider):
            provider.shutdown()
        logs.shutdown()
        console.close()


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    seen = asyncio.run(asyncio.wait_for(serve_and_drive(out), DEADLINE_S))
    for rid, status in seen.items():
        print(f"{rid}\t{status}")
    return 0


def run_exports(out: Path) -> dict[str, str]:
    """Run this app in its own process (bounded), exporting into ``out``; returns each request
    id with the status its client saw. Raises RuntimeError with the app's stderr if it fails."""
    proc = subprocess.run(
        [sys.executable, __file__, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the instrumented app failed: {proc.stderr[-3000:]}")
    return dict(line.split("\t") for line in proc.stdout.splitlines())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
