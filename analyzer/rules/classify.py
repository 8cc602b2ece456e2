"""The error classifier, as data: which exceptions are GPU/runner faults and which are ordinary.

Each :class:`Pattern` is a case-insensitive regular expression on the exception TYPE or on its
MESSAGE, belonging to one class. Classes are tried in :data:`CLASS_ORDER`; the first pattern that
matches decides; nothing matching is ``ordinary``. Patterns from the configuration
(``[tool.analyzer] error_patterns``) are tried before the built-in ones, so a team can add a fault
signature or force a known message to ``ordinary``.

The exception type and the specific fault patterns decide, never a bare keyword: the platform's
SDK answers 503 for any message that merely *mentions* cuda/triton/nccl, but
``ValueError: unsupported triton kernel option`` is still an ordinary (here: bad input) error,
while ``torch.cuda.OutOfMemoryError: CUDA out of memory`` and
``RuntimeError: CUDA error: device-side assert triggered`` are GPU faults.

The rules apply the classifier in SQL (:func:`install_classifier` creates ``rule_error_pattern``
and classifies the distinct (exc_type, exc_message) pairs of ``attempts`` into
``rule_error_class``); :func:`classify` is the same logic in Python, for tests and display.
Patterns use the common subset of Python ``re`` and RE2 (DuckDB) syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

import duckdb
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


def install_classifier(
    con: duckdb.DuckDBPyConnection, extra: Iterable[Pattern] = (), *, source: str = "attempts"
) -> None:
    """Create ``rule_error_pattern`` and ``rule_error_class(exc_type, exc_message, error_class)``.

    ``source`` is a table (or subquery in parentheses) with ``exc_type`` and ``exc_message``.
    """
    rows = [(i, p.error_class, p.field, p.pattern) for i, p in enumerate(patterns_with(extra))]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rule_error_pattern "
        "(priority INTEGER, error_class VARCHAR, field VARCHAR, pattern VARCHAR)"
    )
    con.executemany("INSERT INTO rule_error_pattern VALUES (?, ?, ?, ?)", rows)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE rule_error_class AS
        WITH pairs AS (
            SELECT DISTINCT exc_type, exc_message FROM {source}
            WHERE exc_type IS NOT NULL OR exc_message IS NOT NULL
        ),
        matched AS (
            SELECT p.exc_type, p.exc_message, arg_min(x.error_class, x.priority) AS error_class
            FROM pairs p JOIN rule_error_pattern x
              ON regexp_matches(
                   CASE x.field WHEN 'exc_type' THEN p.exc_type ELSE p.exc_message END,
                   x.pattern, 'i')
            GROUP BY ALL
        )
        SELECT p.exc_type, p.exc_message, coalesce(m.error_class, 'ordinary') AS error_class
        FROM pairs p LEFT JOIN matched m
          ON m.exc_type IS NOT DISTINCT FROM p.exc_type
         AND m.exc_message IS NOT DISTINCT FROM p.exc_message
        """
    )


def classify_sql(
    con: duckdb.DuckDBPyConnection,
    pairs: Sequence[tuple[str | None, str | None]],
    extra: Iterable[Pattern] = (),
) -> list[str | None]:
    """Classify ``pairs`` through the SQL path (for tests: it must agree with :func:`classify`)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rule_classify_input (exc_type VARCHAR, exc_message VARCHAR)"
    )
    con.executemany("INSERT INTO rule_classify_input VALUES (?, ?)", list(pairs))
    install_classifier(con, extra, source="rule_classify_input")
    out: list[str | None] = []
    for exc_type, message in pairs:
        row = con.execute(
            "SELECT error_class FROM rule_error_class WHERE exc_type IS NOT DISTINCT FROM ? "
            "AND exc_message IS NOT DISTINCT FROM ?",
            [exc_type, message],
        ).fetchone()
        out.append(None if row is None else str(row[0]))
    return out
