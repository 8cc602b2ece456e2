"""Named, composable incident scenarios and the rule codes each one must produce.

A scenario places scripted requests (and app-level events such as a setup-failure burst) in the
day; each request carries its expected rule codes (knock-on codes included), which become the
ground truth. ``near_misses`` places requests that look suspicious but are correct: they must
produce nothing. ``incident_day`` is every scenario at once over healthy traffic.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from analyzer.simulate.apps import (
    OOM,
    RATE_LIMIT_429,
    VALIDATION,
    err,
    llm_ok,
    upstream_timeout_504,
    video_ok,
    whisper_ok,
)
from analyzer.simulate.model import (
    AttemptPlan,
    CancelBehaviour,
    ChildPlan,
    GatewayQuirks,
    RequestSpec,
    ResourcePlan,
    SetupFailure,
)

SDXL, VIDEO, WHISPER, LLM, TTS = (
    ("acme/sdxl", "/predict"),
    ("acme/flux-video", "/generate"),
    ("globex/whisper", "/transcribe"),
    ("initech/llm-router", "/v1/chat"),
    ("umbrella/tts", "/speak"),
)


@dataclass
class Context:
    """Where a scenario puts its requests: ``at(frac)`` maps a share of the day to seconds."""

    rng: random.Random
    duration: float
    rep: int = 0
    reps: int = 1
    requests: list[tuple[float, RequestSpec]] = field(default_factory=list)
    setup_failures: list[SetupFailure] = field(default_factory=list)
    name: str = ""

    def at(self, frac: float) -> float:
        shifted = (frac + self.rep / self.reps) % 1.0
        return (0.05 + 0.88 * shifted) * self.duration + self.rng.uniform(0.0, 30.0)

    def add(
        self, frac: float, app: tuple[str, str], plans: list[AttemptPlan], *truth: str, **kw: Any
    ) -> None:
        spec = RequestSpec(app[0], app[1], plans, truth=truth, scenario=self.name, **kw)
        self.requests.append((self.at(frac), spec))


def _ok(d: float, **kw: Any) -> AttemptPlan:
    return AttemptPlan(d, **kw)


def poison_503(c: Context) -> None:
    """A request whose input makes the app raise a ValueError it maps to 503: 10 runners killed."""
    poison = err(
        1.4,
        503,
        ("ValueError", "invalid literal for int() with base 10: 'auto'"),
        logs=((0.02, "info", "Parsing request: num_inference_steps='auto'"),),
    )
    c.add(0.40, SDXL, [poison], "S001", "R001", "R004")


def ordinary_503(c: Context) -> None:
    """Ordinary errors answered 503 once (the SDK maps a message mentioning 'triton' to 503)."""
    triton = err(0.8, 503, ("ValueError", "unsupported triton kernel option 'num_warps=3'"))
    c.add(0.22, SDXL, [triton], "S001", mode="direct")
    key = err(0.3, 503, ("KeyError", "'controlnet_conditioning_scale'"))
    c.add(0.61, SDXL, [key, _ok(4.0)], "S001")
    # the gateway's runner.terminated line was lost: the runner just goes silent (no L002)
    lost = GatewayQuirks(lose_termination_log=True)
    lora = err(0.5, 503, ("FileNotFoundError", "LoRA 'pixel-art-v2' not found in /data/loras"))
    c.add(0.84, SDXL, [lora, _ok(4.5)], "S001", quirks=lost)


def bad_input_5xx(c: Context) -> None:
    """Validation failures answered 500/502 instead of 422."""
    val = err(
        0.02,
        500,
        (
            "pydantic.ValidationError",
            "1 validation error for ChatRequest\nmessages.0.role\n  Input should be 'system', "
            "'user' or 'assistant' [type=literal_error, input_value='bot']",
        ),
    )
    c.add(0.33, LLM, [val], "S002")
    key = err(0.05, 502, ("KeyError", "'audio_url' (missing field in request body)"))
    c.add(0.71, WHISPER, [key], "S002")


def rate_limit_5xx(c: Context) -> None:
    """An upstream rate limit answered 500 (and once 503, which also kills a runner)."""
    c.add(0.27, LLM, [err(0.6, 500, RATE_LIMIT_429)], "S003")
    rl = err(0.9, 503, ("RateLimitError", "prompt-enhancer API: rate limit exceeded, retry in 20s"))
    c.add(0.52, SDXL, [rl, _ok(5.0)], "S003", "S001")


def gpu_fault_4xx(c: Context) -> None:
    """GPU faults answered with a client error: the broken runner stays, the caller is blamed."""
    c.add(0.45, SDXL, [err(2.1, 422, OOM)], "S004")
    c.add(
        0.77,
        SDXL,
        [err(1.3, 400, ("RuntimeError", "CUDA error: device-side assert triggered"))],
        "S004",
    )


def needless_504(c: Context) -> None:
    """A 504 though no upstream work timed out: a needless requeue."""
    plan = err(
        25.2,
        504,
        ("RuntimeError", "sampling loop exceeded its internal budget of 25s"),
        children=(ChildPlan("upstream", "openai.chat.completions", 0.1, 3.0, 30.0),),
    )
    c.add(0.36, LLM, [plan, _ok(3.0)], "S005")


def forced_retry_4xx(c: Context) -> None:
    """X-Fal-Needs-Retry: 1 on 4xx answers: input that fails again is retried."""
    bad = err(0.03, 422, VALIDATION, needs_retry=True)
    c.add(0.58, TTS, [bad], "S006", "R004")
    once = err(
        0.2,
        400,
        ("ValueError", "Unsupported audio format 'audio/ogg; codecs=opus'"),
        needs_retry=True,
    )
    c.add(0.83, WHISPER, [once, _ok(2.0)], "S006")


def poison_crash(c: Context) -> None:
    """An input that segfaults the app: the connection breaks on 10 runners in a row."""
    c.add(0.66, SDXL, [AttemptPlan(2.2, "crash")], "R001", "R004")


def deadline_retry(c: Context) -> None:
    """Work dispatched or delivered after the caller's deadline (the gateway did not enforce it)."""
    oom = err(18.0, 503, OOM)
    late = GatewayQuirks(ignore_deadline=True, requeue_wait_s=15.0)
    c.add(0.48, SDXL, [oom, _ok(5.0)], "R002", deadline_s=25.0, quirks=late, fit_deadline=False)
    slow = GatewayQuirks(ignore_deadline=True)
    c.add(0.74, LLM, [_ok(42.0)], "R002", deadline_s=30.0, quirks=slow, fit_deadline=False)


def timeout_loop(c: Context) -> None:
    """Handlers that outlive request_timeout: each attempt kills its runner and is retried."""
    hang = AttemptPlan(400.0, logs=((1.0, "info", "Sampling 481 frames at 24 fps"),))
    c.add(0.15, VIDEO, [hang, hang, replace(hang, duration=90.0)], "R003")
    c.add(0.55, VIDEO, [hang], "R003", "R001", "R004")


def setup_failure_loop(c: Context) -> None:
    """A rollout whose setup() fails on every new runner for five minutes."""
    start = c.at(0.30)
    c.setup_failures.append(SetupFailure("umbrella/tts", start, start + 300.0, scenario=c.name))
    start = c.at(0.60)  # three runners whose weight download stalls past startup_timeout
    stalled = "Downloading weights: 23.1 GB from the model registry (stalled at 41%)"
    c.setup_failures.append(
        SetupFailure(
            "acme/flux-video",
            start,
            start + 60.0,
            "",
            stalled,
            kind="startup_timeout",
            scenario=c.name,
            max_failures=3,
            parallel=3,
        )
    )


def policy_deviation(c: Context) -> None:
    """The platform did not do what its policy says (a 503 kept the runner; a 500 was retried)."""
    keep = GatewayQuirks(keep_runner_after_503=True)
    c.add(0.62, SDXL, [err(3.0, 503, OOM), _ok(4.0)], "L002", quirks=keep)
    retry = GatewayQuirks(retry_500=True)
    c.add(
        0.42,
        LLM,
        [err(1.0, 500, ("RuntimeError", "tokenizer returned an empty sequence")), _ok(2.0)],
        "L002",
        quirks=retry,
    )


def _video_cancel(on_cancel: CancelBehaviour, d: float = 45.0, **kw: Any) -> AttemptPlan:
    base = video_ok(random.Random(0))
    return replace(base.scaled(d / base.duration), on_cancel=on_cancel, **kw)


def cancel_not_forwarded(c: Context) -> None:
    """The caller cancelled; the gateway never called /cancel; the handler ran to the end."""
    quirk = GatewayQuirks(no_cancel_forward=True)
    c.add(0.18, VIDEO, [_video_cancel("honour")], "C001", cancel_after_start=8.0, quirks=quirk)


def cancel_not_honoured(c: Context) -> None:
    """/cancel found no task (or raised); the handler went on to the end."""
    plan = replace(whisper_ok(random.Random(1)).scaled(1.0), duration=20.0, on_cancel="no_task")
    c.add(0.24, WHISPER, [plan], "C002", cancel_after_start=4.0)
    c.add(0.69, WHISPER, [replace(plan, on_cancel="error")], "C002", cancel_after_start=5.0)


def orphaned_child(c: Context) -> None:
    """Child work that outlives its handler (after a cancel, and after a normal return)."""
    stream = ChildPlan("stream", "frames-upload", 2.0, 40.0, ignores_cancel=True)
    plan = replace(_video_cancel("orphan"), children=(stream,))
    c.add(0.21, VIDEO, [plan], "C003", cancel_after_start=10.0)
    never = ChildPlan("stream", "preview-stream", 1.0, 0.0, never_ends=True)
    c.add(0.79, VIDEO, [replace(plan, children=(never,))], "C003", cancel_after_start=9.0)
    bg = ChildPlan("task", "telemetry-upload", 4.5, 8.0, ignores_cancel=True)
    c.add(0.57, SDXL, [_ok(5.0, children=(bg,))], "C003")


def slow_cancel(c: Context) -> None:
    """A cancel honoured only when the synchronous GPU loop returned, 15 s later."""
    c.add(
        0.39,
        VIDEO,
        [_video_cancel("slow", d=70.0, slow_cancel_s=15.0)],
        "C004",
        cancel_after_start=10.0,
    )


def disconnect_ignored(c: Context) -> None:
    """A direct caller went away; the handler finished the transcription nobody will read."""
    plan = replace(whisper_ok(random.Random(2)), duration=12.0, on_disconnect="ignore")
    c.add(0.31, WHISPER, [plan], "C005", mode="direct", disconnect_after_start=2.0)


def resource_leak(c: Context) -> None:
    """Cancelled work that never released what it held (a GPU lock, a temp file)."""
    lock = ResourcePlan("lock", "gpu-lock", 0.01, leak_on_cancel=True)
    c.add(0.51, VIDEO, [_video_cancel("leak", resources=(lock,))], "C006", cancel_after_start=7.0)
    tmp = ResourcePlan("temp_file", "audio-tmp", 0.2, leak_on_cancel=True)
    plan = replace(
        whisper_ok(random.Random(3)), duration=10.0, on_disconnect="honour", resources=(tmp,)
    )
    c.add(0.86, WHISPER, [plan], "C006", mode="direct", disconnect_after_start=3.0)


def child_deadline(c: Context) -> None:
    """An upstream call given 120 s although the caller's deadline leaves 30 s."""
    child = ChildPlan("upstream", "openai.chat.completions", 0.2, 3.0, 120.0, fixed_deadline=True)
    c.add(0.46, LLM, [_ok(4.0, children=(child,))], "C007", deadline_s=30.0)


def near_misses(c: Context) -> None:
    """Correct behaviour that looks suspicious: must produce no finding."""
    for frac in (0.12, 0.37, 0.81):  # legitimate OOM 503s, retried once onto a fresh runner
        c.add(frac, SDXL, [err(2.5, 503, OOM), _ok(5.0)])
    for frac in (0.26, 0.64):  # 503 with x-fal-stop-runner: false (runner kept, request retried)
        warm = err(
            0.4,
            503,
            ("RuntimeError", "voice model en-GB-4 is still loading, retry shortly"),
            stop_runner=False,
        )
        c.add(frac, TTS, [warm, _ok(1.5)])
    for frac in (0.17, 0.53):  # a cancel honoured in time, children and lock included
        c.add(frac, VIDEO, [_video_cancel("honour")], cancel_after_start=9.0)
    for frac in (0.29, 0.88):  # a 504 after a real upstream timeout
        c.add(frac, LLM, [upstream_timeout_504(), llm_ok(c.rng)])
    c.add(0.44, LLM, [err(0.5, 429, RATE_LIMIT_429, needs_retry=True), llm_ok(c.rng)])
    c.add(0.72, LLM, [err(0.5, 429, RATE_LIMIT_429, needs_retry=True)], mode="direct")
    c.add(0.34, SDXL, [_ok(4.0)], cancel_after_completion=3.0)  # too late: already completed
    honour = replace(whisper_ok(c.rng), duration=9.0, on_disconnect="honour")
    c.add(0.59, WHISPER, [honour], mode="direct", disconnect_after_start=2.5)
    c.add(0.92, SDXL, [err(2.0, 503, OOM)], no_retry=True)  # caller's x-fal-no-retry
    # a 500 for a GPU fault: the health check fails and the runner is replaced (policy)
    illegal = ("RuntimeError", "CUDA error: an illegal memory access was encountered")
    c.add(0.49, SDXL, [err(1.5, 500, illegal, health_ok=False)])
    # the documented pattern: 500 + x-fal-stop-runner: true + X-Fal-Needs-Retry: 1
    corrupted = ("CorruptedStateError", "Runner state corrupted, retrying on fresh runner")
    c.add(0.76, SDXL, [err(1.0, 500, corrupted, stop_runner=True, needs_retry=True), _ok(4.0)])
    c.add(
        0.08,
        LLM,
        [
            _ok(
                3.0,
                children=(
                    ChildPlan(
                        "upstream", "openai.chat.completions", 0.2, 2.0, 10.0, fixed_deadline=True
                    ),
                ),
            )
        ],
        deadline_s=60.0,
    )
    start = c.at(0.67)  # one failed setup() is no loop
    c.setup_failures.append(
        SetupFailure(
            "globex/whisper",
            start,
            start + 1.0,
            "OSError",
            "[Errno 28] No space left on device",
            scenario=c.name,
            truth=False,
            max_failures=1,
        )
    )


Scenario = Callable[[Context], None]
SCENARIOS: dict[str, Scenario] = {
    "poison_503": poison_503,
    "ordinary_503": ordinary_503,
    "bad_input_5xx": bad_input_5xx,
    "rate_limit_5xx": rate_limit_5xx,
    "gpu_fault_4xx": gpu_fault_4xx,
    "needless_504": needless_504,
    "forced_retry_4xx": forced_retry_4xx,
    "poison_crash": poison_crash,
    "deadline_retry": deadline_retry,
    "timeout_loop": timeout_loop,
    "setup_failure_loop": setup_failure_loop,
    "policy_deviation": policy_deviation,
    "cancel_not_forwarded": cancel_not_forwarded,
    "cancel_not_honoured": cancel_not_honoured,
    "orphaned_child": orphaned_child,
    "slow_cancel": slow_cancel,
    "disconnect_ignored": disconnect_ignored,
    "resource_leak": resource_leak,
    "child_deadline": child_deadline,
    "near_misses": near_misses,
}
COMPOSITES: dict[str, tuple[str, ...]] = {
    "incident_day": tuple(SCENARIOS),
    "healthy": (),
}


def describe(name: str) -> str:
    """First line of a scenario's docstring (for ``--list``)."""
    if name in COMPOSITES:
        if name == "healthy":
            return "healthy traffic only (no finding expected)"
        return "every scenario above, over healthy traffic (the sample incident)"
    doc = SCENARIOS[name].__doc__ or ""
    return doc.strip().splitlines()[0]


def expand(names: list[str]) -> list[str]:
    """Resolve composites, keep order, drop duplicates."""
    out: list[str] = []
    for n in names:
        for m in COMPOSITES.get(n, (n,)):
            if m not in out:
                out.append(m)
    return out
