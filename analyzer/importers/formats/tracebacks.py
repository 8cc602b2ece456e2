"""Python tracebacks as the platform logs them, and the SDK's exception -> status mapping.

The platform's SDK logs an unhandled exception as one log line whose message is itself JSON,
``{"traceback": "..."}``, with the exception line FIRST and the frames reversed (most recent
call first). uvicorn then logs the same exception in ordinary order (``Traceback (most recent
call last):`` first, the exception line last), one log record per line, often inside an
exception group whose lines carry ``|`` / ``+`` margins. Both are read here.

:data:`SDK_MAPPINGS` (in the leaf module :mod:`analyzer.sdk`, re-exported here) is the one place
that says how the SDK answers an unhandled exception (measured on fal 1.83 served locally,
``fal/api/api.py`` and ``fal/exceptions/gpu.py``): 503 when the lower-cased message contains a
GPU marker word, else 500. The marker words grew over
SDK versions; :func:`sdk_mapping` picks the list for a version (the runner's start-up line
``[debug] Python packages installed: ... fal==X.Y.Z`` names it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from analyzer.sdk import LATEST as LATEST  # the SDK's mapping: a leaf module, re-exported
from analyzer.sdk import SDK_MAPPINGS as SDK_MAPPINGS
from analyzer.sdk import SDK_VERSION as SDK_VERSION
from analyzer.sdk import SdkMapping as SdkMapping
from analyzer.sdk import sdk_mapping
from analyzer.sdk import sdk_version as sdk_version

_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(?::\s?(?P<msg>.*))?$")
_NOT_EXC = ("Traceback", "During handling", "The above exception", "File ", "^", "~")
_MARGIN = re.compile(r"^[ \t]*(?:[|+][ \t]?[-+]*[ \t]*)+")


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
