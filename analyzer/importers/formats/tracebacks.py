"""Python tracebacks as the platform logs them, and the SDK's exception -> status mapping.

The platform's SDK logs an unhandled exception as one log line whose message is itself JSON,
``{"traceback": "..."}``, with the exception line FIRST and the frames reversed (most recent
call first). uvicorn then logs the same exception in ordinary order (``Traceback (most recent
call last):`` first, the exception line last), one log record per line, often inside an
exception group whose lines carry ``|`` / ``+`` margins. Both are read here.

:data:`SDK_MAPPINGS` is the one place that says how the SDK answers an unhandled exception
(measured on fal 1.83 served locally, ``fal/api/api.py`` and ``fal/exceptions/gpu.py``): 503
when the lower-cased message contains a GPU marker word, else 500. The marker words grew over
SDK versions; :func:`sdk_mapping` picks the list for a version (the runner's start-up line
``[debug] Python packages installed: ... fal==X.Y.Z`` names it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(?::\s?(?P<msg>.*))?$")
_NOT_EXC = ("Traceback", "During handling", "The above exception", "File ", "^", "~")
_MARGIN = re.compile(r"^[ \t]*(?:[|+][ \t]?[-+]*[ \t]*)+")


@dataclass(frozen=True)
class SdkMapping:
    """How one range of SDK versions answers an unhandled exception."""

    since: tuple[int, ...]
    gpu_markers: tuple[str, ...]

    def status(self, message: str) -> int:
        """503 when the exception's message mentions a marker word, else 500. (The SDK's
        CUDA-OOM / NVML / cuDNN string checks all contain a marker word too.)"""
        text = message.lower()
        return 503 if any(marker in text for marker in self.gpu_markers) else 500

    def marker(self, message: str) -> str | None:
        """The first marker word the message mentions, or None."""
        text = message.lower()
        return next((m for m in self.gpu_markers if m in text), None)


SDK_MAPPINGS: tuple[SdkMapping, ...] = (
    SdkMapping(since=(0,), gpu_markers=("cuda", "cudnn", "nvml")),
    SdkMapping(
        since=(1, 0),
        gpu_markers=(
            "cuda", "cudnn", "nvml", "nccl", "cublas", "cufft", "cusolver", "cusparse", "triton",
        ),
    ),
)  # fmt: skip
"""Oldest first. The nine-word list is measured on fal 1.83; older SDKs had the first three
(platform-facts); the exact version where the list grew is not measured (1.0 is assumed)."""

LATEST = SDK_MAPPINGS[-1]
SDK_VERSION = re.compile(r"(?:^|[ ,:])fal==(\d+(?:\.\d+)*)")


def sdk_mapping(version: str | None = None) -> SdkMapping:
    """The mapping of SDK ``version`` (``"1.83.0"``); the latest when unknown."""
    if not version:
        return LATEST
    try:
        wanted = tuple(int(p) for p in version.split(".") if p.isdigit())
    except ValueError:
        return LATEST
    chosen = SDK_MAPPINGS[0]
    for mapping in SDK_MAPPINGS:
        if wanted >= mapping.since:
            chosen = mapping
    return chosen


def sdk_version(line: str) -> str | None:
    """The fal version a runner's start-up package line names, or None."""
    match = SDK_VERSION.search(line) if "packages installed" in line else None
    return match.group(1) if match else None


@dataclass(frozen=True)
class ParsedTraceback:
    """The exception a traceback ends in."""

    exc_type: str
    message: str
    text: str


def traceback_text(message: str | None) -> str | None:
    """The traceback carried by a log message ``{"traceback": "..."}``, else None."""
    if not message or not message.lstrip().startswith("{") or "traceback" not in message:
        return None
    try:
        obj = json.loads(message)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("traceback"), str):
        return str(obj["traceback"])
    return None


def parse_traceback(text: str) -> ParsedTraceback | None:
    """The exception type and message of a traceback in either order, or None.

    In ordinary order the exception is the last top-level exception line (the one raised
    last, after any "During handling ..." chain); lines inside an exception group's margins
    are not top level.
    """
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    top = [i for i, line in enumerate(lines) if line and not line[:1].isspace()]
    candidates = [i for i in top if not lines[i].startswith(_NOT_EXC)]
    if not candidates:
        return None
    ordinary_order = bool(top) and lines[top[0]].startswith(("Traceback", "ERROR:"))
    index = candidates[-1] if ordinary_order else candidates[0]
    match = _EXC_LINE.match(lines[index])
    if match is None:
        return None
    message = match.group("msg") or ""
    # A multi-line message continues until the next frame or header line.
    for follow in lines[index + 1 :]:
        if not follow or follow.startswith(("  File ", "Traceback")) or follow[:1].isspace():
            break
        message += "\n" + follow
    return ParsedTraceback(match.group("type"), message.strip(), text)


def sdk_status(exc_type: str, message: str, version: str | None = None) -> int:
    """The status the platform's SDK (``version``, else the latest) answers for an unhandled
    exception ``exc_type: message``."""
    del exc_type  # the SDK looks at the message only (its type checks need a marker word too)
    return sdk_mapping(version).status(message)
