"""A small asyncio app instrumented with the real OpenTelemetry SDK, for the import tests.

``run_app(out)`` serves two requests and writes their spans with ``ConsoleSpanExporter``:

- ``req-otel-cancelled``: the handler starts three children, then the caller cancels it;
  the handler cancels the upstream fetch it tracks but forgets the preview encoder, which
  keeps running ~1.8 s after the handler stopped (an orphaned child).
- ``req-otel-clean``: the handler awaits its two children and answers 200.

The app records ``CancelledError`` on its spans itself (the SDK's context manager records
``Exception`` subclasses only), as instrumented apps do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import IO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

LEAK_SECONDS = 1.8


async def _traced(
    tracer: trace.Tracer,
    name: str,
    work: Callable[[], Awaitable[None]],
    kind: SpanKind = SpanKind.INTERNAL,
) -> None:
    with tracer.start_as_current_span(name, kind=kind) as span:
        try:
            await work()
        except asyncio.CancelledError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "CancelledError"))
            raise


async def _handler(tracer: trace.Tracer, request_id: str, leak: bool) -> None:
    attributes = {"fal.request_id": request_id, "http.route": "/predict"}
    with tracer.start_as_current_span(
        "POST /predict", kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        fetch = asyncio.create_task(
            _traced(
                tracer,
                "fetch-upstream",
                lambda: asyncio.sleep(30 if leak else 0.05),
                SpanKind.CLIENT,
            )
        )
        preview = asyncio.create_task(
            _traced(tracer, "encode-preview", lambda: asyncio.sleep(LEAK_SECONDS if leak else 0.05))
        )
        try:
            if leak:
                await asyncio.sleep(30)  # the caller cancels long before
            await asyncio.gather(fetch, preview)
            span.set_attribute("http.response.status_code", 200)
        except asyncio.CancelledError as exc:
            fetch.cancel()  # the bug: `preview` is never cancelled
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "CancelledError"))
            span.set_attribute("http.response.status_code", 499)
            raise
        finally:
            _KEEP.append(preview)


_KEEP: list[asyncio.Task[None]] = []


async def _serve(tracer: trace.Tracer) -> None:
    cancelled = asyncio.create_task(_handler(tracer, "req-otel-cancelled", leak=True))
    await asyncio.sleep(0.2)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    await _handler(tracer, "req-otel-clean", leak=False)
    await asyncio.gather(*_KEEP, return_exceptions=True)  # let the orphan finish, to export it


def run_app(out: IO[str]) -> None:
    """Run the app once; spans go to ``out`` as the SDK's console exporter prints them."""
    resource = Resource.create(
        {"service.name": "acme/otel-demo", "service.instance.id": "runner-otel-1"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    try:
        asyncio.run(_serve(provider.get_tracer("otel-demo")))
    finally:
        _KEEP.clear()
        provider.shutdown()
