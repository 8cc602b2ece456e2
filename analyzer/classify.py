"""The error classifier's data: which exceptions are GPU/runner faults and which are ordinary.

One list of patterns, used by both stages: the replay's policy derives its default error classes
from it (``attempts.error_class``, which decides whether a termination was needless) and the rules
apply it in SQL (``analyzer.rules.classify``), with the configuration's own patterns first.

Each :class:`Pattern` is a case-insensitive regular expression on the exception TYPE or on its
MESSAGE, belonging to one class. Classes are tried in :data:`CLASS_ORDER`; the first pattern that
matches decides; nothing matching is ``ordinary``.

The exception type and the specific fault patterns decide, never a bare keyword: the platform's
SDK answers 503 for any message that merely *mentions* cuda/triton/nccl, but
``ValueError: unsupported triton kernel option`` is still an ordinary (here: bad input) error,
while ``torch.cuda.OutOfMemoryError: CUDA out of memory`` and
``RuntimeError: CUDA error: device-side assert triggered`` are GPU faults.
Patterns use the common subset of Python ``re`` and RE2 (DuckDB) syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

ErrorClass = Literal["gpu_fault", "rate_limit", "upstream_timeout", "bad_input", "ordinary"]
CLASS_ORDER: tuple[str, ...] = ("gpu_fault", "rate_limit", "upstream_timeout", "bad_input")


class Pattern(BaseModel):
    """One classifier pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_class: ErrorClass
    field: Literal["exc_type", "message"]
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value


def _p(cls: ErrorClass, field: Literal["exc_type", "message"], *patterns: str) -> list[Pattern]:
    return [Pattern(error_class=cls, field=field, pattern=p) for p in patterns]


DEFAULT_PATTERNS: tuple[Pattern, ...] = (
    # GPU / runner-state faults: a 503 (terminate the runner) is the right answer.
    *_p(
        "gpu_fault",
        "exc_type",
        r"OutOfMemory",
        r"(^|\.)cuda\.\w*Error$",
        r"(^|\.)(CUDA|Cuda|GPU|NCCL|cuDNN|cuBLAS|NVML|Triton)\w*(Error|Exception)$",
        r"(^|\.)DeviceError$",
        r"Corrupt\w*(Error|Exception)$",
    ),
    *_p(
        "gpu_fault",
        "message",
        r"out of memory",
        r"CUDA (error|driver|runtime)",
        r"cuDNN error|CUDNN_STATUS_",
        r"NCCL (error|failure|timeout)|ncclInternalError|ncclSystemError|ncclUnhandledCudaError",
        r"cuBLAS error|CUBLAS_STATUS_",
        r"NVML|driver (error|fault|failure)|GPU (has fallen off|is lost|fault)",
        r"device-side assert",
        r"illegal (memory access|instruction|address)",
        r"(corrupt|corrupted|illegal) (memory|model|cuda|gpu|device|runner) ?state",
        r"(model|gpu|device|cuda|runner|memory) state (is |was )?corrupt",
        r"\bECC error|\bXid\b",
    ),
    # Rate limits: the right answer is 429, not 5xx.
    *_p("rate_limit", "exc_type", r"RateLimit", r"TooManyRequests", r"Quota\w*(Error|Exceeded)"),
    *_p(
        "rate_limit",
        "message",
        r"rate.?limit",
        r"too many requests",
        r"\b429\b",
        r"quota (exceeded|exhausted)|exceeded (your|the)? ?quota",
    ),
    # Upstream timeouts: a 504 is right only when such work really timed out.
    *_p("upstream_timeout", "exc_type", r"Timeout(Error|Exception)?$", r"TimedOut"),
    *_p("upstream_timeout", "message", r"timed out", r"deadline exceeded"),
    # Bad input: a 400/422 is right, never a 5xx.
    *_p(
        "bad_input",
        "exc_type",
        r"ValidationError$",
        r"RequestValidationError",
        r"FieldException",
        r"BadRequest",
        r"^(builtins\.)?(ValueError|KeyError|TypeError|IndexError)$",
        r"JSONDecodeError|UnidentifiedImageError",
    ),
    *_p(
        "bad_input",
        "message",
        r"\binvalid\b",
        r"missing (field|key|required)",
        r"\bmust be\b",
        r"validation (error|failed)",
        r"unsupported (input|format|value|option|parameter)",
    ),
)


def patterns_with(extra: Iterable[Pattern] = ()) -> list[Pattern]:
    """Configured patterns first (they win), then the built-in ones in class order."""
    builtin = sorted(DEFAULT_PATTERNS, key=lambda p: CLASS_ORDER.index(p.error_class))
    return [*extra, *builtin]


def classify(
    exc_type: str | None, message: str | None, patterns: Sequence[Pattern] | None = None
) -> str | None:
    """The class of an error; ``None`` when there is no error at all."""
    if exc_type is None and message is None:
        return None
    for p in patterns if patterns is not None else patterns_with():
        value = exc_type if p.field == "exc_type" else message
        if value is not None and re.search(p.pattern, value, re.IGNORECASE):
            return p.error_class
    return "ordinary"
