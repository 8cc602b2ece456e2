"""How the platform's SDK answers an unhandled exception, by SDK version (fal 1.83 measured).

A leaf module (no DuckDB, no importers package): the rules (S001's marker words) read it
without loading the importers, which ``analyzer check --db`` does not otherwise need (0.2 to
0.4 s of start-up). :mod:`analyzer.importers.formats.tracebacks` re-exports every name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
