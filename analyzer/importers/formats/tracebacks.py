"""Python tracebacks as the platform logs them, and the SDK's exception -> status mapping.

The platform's SDK logs an unhandled exception as one log line whose message is itself JSON,
``{"traceback": "..."}``, with the exception line FIRST and the frames reversed (most recent
call first). An ordinary Python traceback (``Traceback (most recent call last):`` first, the
exception line last) is read too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(?::\s?(?P<msg>.*))?$")
_NOT_EXC = ("Traceback", "During handling", "The above exception", "File ", "^", "~")

# The SDK answers 503 when the message of an unhandled exception looks like a GPU error.
_GPU_WORDS = re.compile(
    r"cuda|cudnn|nvml|nccl|cublas|cufft|cusolver|cusparse|triton|out of memory", re.IGNORECASE
)
_GPU_TYPES = re.compile(r"OutOfMemoryError|GPUException|CUDAOutOfMemoryException")


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
    """The exception type and message of a traceback in either order, or None."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    top = [i for i, line in enumerate(lines) if line and not line[:1].isspace()]
    candidates = [i for i in top if not lines[i].startswith(_NOT_EXC)]
    if not candidates:
        return None
    ordinary_order = bool(top) and lines[top[0]].startswith("Traceback")
    index = candidates[-1] if ordinary_order else candidates[0]
    match = _EXC_LINE.match(lines[index])
    if match is None:
        return None
    message = match.group("msg") or ""
    # A multi-line message continues until the next frame or header line.
    for follow in lines[index + 1 :]:
        if not follow or follow.startswith(("  File ", "Traceback")) or follow in ("",):
            break
        if follow[:1].isspace():
            break
        message += "\n" + follow
    return ParsedTraceback(match.group("type"), message.strip(), text)


def sdk_status(exc_type: str, message: str) -> int:
    """The status the platform's SDK answers for an unhandled exception: 503 when it looks
    like a GPU error (type, or a GPU word in the message), else 500."""
    if _GPU_TYPES.search(exc_type) or _GPU_WORDS.search(message):
        return 503
    return 500
