"""The error classifier: patterns as data; Python and SQL agree."""

from __future__ import annotations

import duckdb
import pytest

from analyzer.rules.classify import Pattern, classify, classify_sql, patterns_with

EXAMPLES = [
    ("ValueError", "unsupported triton kernel option 'num_warps=3'", "bad_input"),
    ("torch.cuda.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.50 GiB", "gpu_fault"),
    ("RuntimeError", "CUDA error: device-side assert triggered", "gpu_fault"),
    ("RuntimeError", "CUDA error: an illegal memory access was encountered", "gpu_fault"),
    ("RuntimeError", "cuDNN error: CUDNN_STATUS_INTERNAL_ERROR", "gpu_fault"),
    ("torch.distributed.DistBackendError", "NCCL error in: ProcessGroupNCCL.cpp", "gpu_fault"),
    ("CUDAOutOfMemoryException", None, "gpu_fault"),
    ("RuntimeError", "model state corrupted after partial load", "gpu_fault"),
    ("RuntimeError", "could not parse the prompt template", "ordinary"),
    ("RuntimeError", "corrupted model state", "gpu_fault"),
    ("CorruptedStateError", "Runner state corrupted, retrying on fresh runner", "gpu_fault"),
    ("RuntimeError", "runner state was corrupted by a failed load", "gpu_fault"),
    ("pydantic.ValidationError", "1 validation error for Input", "bad_input"),
    ("RequestValidationError", "prompt: field required", "bad_input"),
    ("KeyError", "'prompt'", "bad_input"),
    ("TypeError", "expected str, got int", "bad_input"),
    ("openai.RateLimitError", "Error code: 429 - Rate limit reached", "rate_limit"),
    ("HTTPStatusError", "too many requests", "rate_limit"),
    ("httpx.ReadTimeout", "timed out", "upstream_timeout"),
    ("asyncio.TimeoutError", None, "upstream_timeout"),
    ("TimeoutError", "upstream took too long", "upstream_timeout"),
    ("RuntimeError", "decoder produced NaNs", "ordinary"),
    ("RuntimeError", "sampling loop exceeded its internal budget of 25s", "ordinary"),
    ("ZeroDivisionError", "division by zero", "ordinary"),
    (None, "width must be a multiple of 8", "bad_input"),
]


@pytest.mark.parametrize(("exc_type", "message", "expected"), EXAMPLES)
def test_python_classifier(exc_type: str | None, message: str | None, expected: str) -> None:
    assert classify(exc_type, message) == expected


def test_sql_classifier_agrees_with_python() -> None:
    con = duckdb.connect()
    pairs = [(e, m) for e, m, _ in EXAMPLES]
    assert classify_sql(con, pairs) == [x for _, _, x in EXAMPLES]


def test_no_error_is_no_class() -> None:
    assert classify(None, None) is None


def test_configured_patterns_win_and_extend() -> None:
    extra = [
        Pattern(error_class="gpu_fault", field="message", pattern=r"Xid 79"),
        Pattern(error_class="ordinary", field="message", pattern=r"^unsupported triton"),
    ]
    pats = patterns_with(extra)
    assert classify("RuntimeError", "GPU has Xid 79 fault", pats) == "gpu_fault"
    assert classify("ValueError", "unsupported triton kernel option", pats) == "ordinary"
    con = duckdb.connect()
    assert classify_sql(con, [("RuntimeError", "Xid 79")], extra) == ["gpu_fault"]


def test_invalid_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        Pattern(error_class="gpu_fault", field="message", pattern="(unclosed")
