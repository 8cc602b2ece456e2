"""A fal app with one case per row of the SDK's exception -> answer mapping (platform-facts).

``POST /predict`` with ``{"case": NAME, "prompt": TEXT}`` runs case NAME. ``BROKEN_GPU=1`` in
the runner's environment makes the ``flaky_oom`` case raise a real CUDA out-of-memory error
(the machine's GPU is broken); elsewhere it succeeds. ``FAIL_SETUP=1`` makes ``setup()`` fail.
"""

from __future__ import annotations

import os

import fal
from fal.exceptions import (
    AppException,
    CUDAOutOfMemoryException,
    FieldException,
    GPUException,
    RequestCancelledException,
)
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class CaseInput(BaseModel):
    case: str
    prompt: str


class OutOfMemoryError(Exception):
    """A class named like torch's, raised with a message lacking "CUDA"."""


def _raise(case: str) -> object:
    if case == "value_error":
        raise ValueError("bad prompt: empty")
    if case == "triton":
        raise ValueError("unsupported triton kernel option 'fast'")
    if case == "key_error_gpu_word":
        raise KeyError("cuda_device")
    if case == "runtime_oom_no_cuda":
        raise RuntimeError("out of memory")
    if case == "host_oom":
        raise ValueError("host out of memory")
    if case == "class_oom_no_cuda":
        raise OutOfMemoryError("out of memory")
    if case == "cuda_oom" or (case == "flaky_oom" and os.environ.get("BROKEN_GPU") == "1"):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    if case == "gpu_exception":
        raise GPUException()
    if case == "cuda_oom_exception":
        raise CUDAOutOfMemoryException()
    if case == "app_exception":
        raise AppException("upstream quota exhausted", 429)
    if case == "field_exception":
        raise FieldException("prompt", "must not be empty")
    if case == "cancelled":
        raise RequestCancelledException("stopped by the caller")
    if case == "stop_runner_false":
        return JSONResponse(
            {"detail": "busy, retry elsewhere"}, 503, headers={"x-fal-stop-runner": "false"}
        )
    if case == "needs_retry":
        return JSONResponse({"detail": "transient error"}, 500, headers={"X-Fal-Needs-Retry": "1"})
    if case == "prints":
        print("loading input image")
    return {"output": f"done: {case}"}


class CaseApp(fal.App):
    def setup(self) -> None:
        print("setup: loading model weights")
        if os.environ.get("FAIL_SETUP") == "1":
            raise RuntimeError("model weights not found at /data/weights")

    @fal.endpoint("/predict")
    def predict(self, input: CaseInput) -> object:
        return _raise(input.case)
