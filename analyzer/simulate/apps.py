"""The simulated apps and their healthy behaviour (latency, ordinary error mix, child work).

Healthy traffic must produce no finding at all, so every error here is *correctly* mapped:
bad input is a 4xx, GPU faults are 503 and are retried once onto a fresh runner, rate limits
are 429 with ``X-Fal-Needs-Retry: 1``, a 504 always follows a child that really timed out,
a 500 carries an ordinary message that is neither bad input nor a rate limit. Outcomes that
kill a runner (503, crash) only happen on apps with one request per runner, and never while
child work is running, so a killed runner never strands another request's work.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, Literal

from analyzer.simulate.model import AppConfig, AttemptPlan, ChildPlan, RequestSpec, ResourcePlan

APPS: tuple[AppConfig, ...] = (
    AppConfig(
        "acme/sdxl",
        "/predict",
        "GPU-H100",
        concurrency=1,
        min_runners=2,
        max_runners=8,
        setup_s=(20.0, 40.0),
        request_timeout=300.0,
        share=0.34,
    ),
    AppConfig(
        "acme/flux-video",
        "/generate",
        "GPU-H100",
        concurrency=1,
        min_runners=1,
        max_runners=6,
        setup_s=(60.0, 110.0),
        request_timeout=180.0,
        startup_timeout=300.0,
        share=0.10,
    ),
    AppConfig(
        "globex/whisper",
        "/transcribe",
        "GPU-A10G",
        concurrency=4,
        min_runners=1,
        max_runners=8,
        setup_s=(15.0, 25.0),
        request_timeout=120.0,
        ts_style="epoch",
        share=0.24,
    ),
    AppConfig(
        "initech/llm-router",
        "/v1/chat",
        "GPU-A100",
        concurrency=8,
        min_runners=1,
        max_runners=6,
        setup_s=(5.0, 12.0),
        request_timeout=120.0,
        ts_style="offset",
        share=0.22,
    ),
    AppConfig(
        "umbrella/tts",
        "/speak",
        "GPU-L4",
        concurrency=2,
        min_runners=1,
        max_runners=4,
        setup_s=(10.0, 20.0),
        request_timeout=60.0,
        share=0.10,
    ),
)
APP_BY_NAME = {a.name: a for a in APPS}

OOM = (
    "torch.cuda.OutOfMemoryError",
    "CUDA out of memory. Tried to allocate 2.50 GiB (GPU 0; 79.15 GiB total capacity; "
    "74.02 GiB already allocated; 1.13 GiB free; 76.40 GiB reserved in total by PyTorch)",
)
DEVICE_ASSERT = ("RuntimeError", "CUDA error: device-side assert triggered")
VALIDATION = (
    "pydantic.ValidationError",
    "1 validation error for Input\nprompt\n  Field required [type=missing, input_value={}]",
)


def lognormal(rng: random.Random, median: float, sigma: float, cap: float) -> float:
    return min(cap, median * math.exp(rng.gauss(0.0, sigma)))


def err(duration: float, status: int, exc: tuple[str, str], **kw: Any) -> AttemptPlan:
    return AttemptPlan(
        duration,
        "error",
        status,
        exc_type=exc[0],
        message=exc[1],
        **kw,
    )


def _sdxl(rng: random.Random) -> list[AttemptPlan]:
    d = lognormal(rng, 5.0, 0.35, 25.0)
    steps = rng.choice((20, 25, 30, 40))
    logs = ((0.05, "info", f"Generating 1024x1024 image, {steps} steps, guidance 7.5"),)
    ok = AttemptPlan(
        d,
        children=(ChildPlan("task", "safety-checker", 0.85 * d, 0.1 * d),),
        logs=logs,
    )
    u = rng.random()
    if u < 0.02:
        return [err(0.05, 422, VALIDATION)]
    if u < 0.028:
        return [err(0.6 * d, 503, OOM), ok]
    if u < 0.031:
        return [err(0.4 * d, 503, DEVICE_ASSERT), ok]
    if u < 0.034:
        return [AttemptPlan(0.3 * d, "crash"), ok]
    if u < 0.039:
        return [
            err(
                0.7 * d, 500, ("RuntimeError", "Inference failed: NaN values in latents at step 17")
            )
        ]
    return [ok]


def video_ok(rng: random.Random) -> AttemptPlan:
    d = lognormal(rng, 35.0, 0.3, 110.0)
    return AttemptPlan(
        d,
        children=(
            ChildPlan("stream", "frames-upload", 0.3 * d, 0.6 * d),
            ChildPlan("task", "video-encode", 0.9 * d, 0.07 * d),
        ),
        resources=(ResourcePlan("lock", "gpu-lock", 0.01),),
        logs=((0.1, "info", "Sampling 121 frames at 24 fps"),),
    )


def _video(rng: random.Random) -> list[AttemptPlan]:
    ok = video_ok(rng)
    u = rng.random()
    if u < 0.01:
        return [err(0.05, 422, VALIDATION)]
    if u < 0.02:
        return [err(0.25 * ok.duration, 503, OOM), ok]
    return [ok]


def whisper_ok(rng: random.Random) -> AttemptPlan:
    d = lognormal(rng, 3.0, 0.4, 30.0)
    return AttemptPlan(
        d,
        children=(ChildPlan("upstream", "s3.get_object", 0.01, 0.08 * d, deadline_s=10.0),),
        resources=(ResourcePlan("temp_file", "audio-tmp", 0.01 + 0.09 * d),),
    )


def _whisper(rng: random.Random) -> list[AttemptPlan]:
    u = rng.random()
    if u < 0.02:
        return [
            err(
                0.02,
                422,
                (
                    "pydantic.ValidationError",
                    "1 validation error for Input\naudio_url\n  Input should be a valid URL",
                ),
            )
        ]
    if u < 0.03:
        return [err(0.3, 400, ("ValueError", "Unsupported audio format 'audio/x-ms-wma'"))]
    return [whisper_ok(rng)]


def llm_ok(rng: random.Random) -> AttemptPlan:
    d = lognormal(rng, 2.5, 0.45, 40.0)
    return AttemptPlan(
        d,
        children=(
            ChildPlan("upstream", "openai.chat.completions", 0.05 * d, 0.85 * d, deadline_s=60.0),
        ),
    )


RATE_LIMIT_429 = (
    "openai.RateLimitError",
    "Error code: 429 - Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000",
)


def _llm(rng: random.Random) -> list[AttemptPlan]:
    ok = llm_ok(rng)
    u = rng.random()
    if u < 0.02:
        return [err(0.5, 429, RATE_LIMIT_429, needs_retry=True), ok]
    if u < 0.03:
        return [upstream_timeout_504(), ok]
    if u < 0.04:
        return [
            err(
                0.01,
                422,
                (
                    "pydantic.ValidationError",
                    "1 validation error for ChatRequest\nmessages\n  Field required",
                ),
            )
        ]
    return [ok]


def upstream_timeout_504() -> AttemptPlan:
    """A correct 504: the upstream call really timed out (child outcome ``timeout``)."""
    return AttemptPlan(
        20.3,
        "error",
        504,
        exc_type="httpx.ReadTimeout",
        message="The read operation timed out",
        children=(ChildPlan("upstream", "openai.chat.completions", 0.1, 20.0, 20.0, "timeout"),),
    )


def _tts(rng: random.Random) -> list[AttemptPlan]:
    d = lognormal(rng, 1.5, 0.3, 10.0)
    if rng.random() < 0.01:
        return [err(0.02, 422, VALIDATION)]
    return [
        AttemptPlan(d, logs=((0.01, "info", "Synthesising 212 characters with voice en-US-3"),))
    ]


HEALTHY: dict[str, Callable[[random.Random], list[AttemptPlan]]] = {
    "acme/sdxl": _sdxl,
    "acme/flux-video": _video,
    "globex/whisper": _whisper,
    "initech/llm-router": _llm,
    "umbrella/tts": _tts,
}
DIRECT_SHARE = {"acme/sdxl": 0.15, "globex/whisper": 0.6, "initech/llm-router": 0.3}
DEADLINE = {  # share of callers sending X-Fal-Request-Timeout, and its range (s)
    "acme/sdxl": (0.2, 120.0, 300.0),
    "initech/llm-router": (0.3, 30.0, 90.0),
    "globex/whisper": (0.1, 60.0, 120.0),
}


def healthy_request(app: AppConfig, rng: random.Random) -> RequestSpec:
    """One ordinary request of ``app``: correct behaviour everywhere, no finding expected."""
    plans = HEALTHY[app.name](rng)
    mode: Literal["queue", "direct"] = (
        "direct" if rng.random() < DIRECT_SHARE.get(app.name, 0.0) else "queue"
    )
    deadline = None
    share, lo, hi = DEADLINE.get(app.name, (0.0, 0.0, 0.0))
    if rng.random() < share:
        deadline = float(round(rng.uniform(lo, hi)))
    if deadline is not None and any(p.status == 504 for p in plans):
        deadline = None  # keep the upstream timeout's child deadline independent of the caller
    no_retry = mode == "queue" and rng.random() < 0.03
    return RequestSpec(app.name, app.endpoint, plans, mode, deadline, no_retry)
