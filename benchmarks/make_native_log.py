"""Generate a large, realistic native log for benchmarks (not committed; written to a temp dir).

Requests flow through the gateway and runners the way the platform logs them: received,
dispatched, handler started, child work, handler finished or error, attempt finished
(sometimes a 503 and a retry on another runner), completed; plus health checks, runner
lifecycle and free-form ``log`` lines with long messages. Timestamps mix RFC 3339 with ``Z``,
offsets and Unix seconds; a few lines carry unknown fields. About 250 bytes per line.

    python benchmarks/make_native_log.py OUT.jsonl --lines 1500000
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

APPS = ("acme/sdxl", "acme/whisper", "beta/llama-70b", "gamma/flux")
MESSAGES = (
    "loaded weights in 3.2s from /data/models/checkpoint-00042.safetensors",
    "scheduler tick: 4 pending, 2 running, queue depth 17 (p95 wait 1.3s)",
    "generated 1024x1024 image in 2.81s with 30 steps, guidance 7.5, seed 1234567",
    "upstream call to storage took 0.412s (200 OK, 1.2 MB)",
)


def _ts(t: datetime, i: int) -> str:
    """Mostly RFC 3339 Z; some offsets; some Unix seconds (as JSON numbers)."""
    k = i % 20
    if k == 0:
        return f"{t.timestamp():.6f}"
    if k == 1:
        return json.dumps((t + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+02:00")
    return json.dumps(t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")


def generate(out: Path, lines: int, seed: int = 7) -> int:
    """Write about ``lines`` lines to ``out``; return the exact number written."""
    rng = random.Random(seed)
    t = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    written = 0
    n_req = 0
    buf: list[str] = []
    with out.open("w", encoding="utf-8") as fh:
        while written < lines:
            n_req += 1
            app = rng.choice(APPS)
            rid = f"req-{n_req:08d}-{rng.getrandbits(32):08x}"
            attempts = 2 if rng.random() < 0.05 else 1
            base = f'"app":"{app}","endpoint":"/predict","request_id":"{rid}"'
            t += timedelta(milliseconds=rng.randint(1, 40))
            ev = [
                f'"source":"gateway","event":"request.received",{base},"mode":"queue",'
                f'"deadline_s":{rng.choice((30, 60, 120))}'
            ]
            for a in range(1, attempts + 1):
                runner = f"runner-{rng.randint(1, 400):04d}"
                rb = f'{base},"runner_id":"{runner}","attempt":{a}'
                ev.append(f'"source":"gateway","event":"attempt.dispatched",{rb}')
                ev.append(f'"source":"runner","event":"handler.started",{rb}')
                child = f"{rid}-c1"
                ev.append(
                    f'"source":"runner","event":"child.started",{rb},"child_id":"{child}",'
                    f'"kind":"upstream","name":"fetch-weights","deadline_s":10.0'
                )
                ev.append(
                    f'"source":"runner","event":"child.finished",{rb},"child_id":"{child}",'
                    f'"outcome":"ok"'
                )
                ev.append(
                    f'"source":"runner","event":"log",{rb},"level":"info",'
                    f'"message":"{rng.choice(MESSAGES)}"'
                )
                if a < attempts:
                    ev.append(
                        f'"source":"runner","event":"handler.error",{rb},"exc_type":"ValueError",'
                        f'"message":"prompt must be a non-empty string","status":503'
                    )
                    ev.append(
                        f'"source":"gateway","event":"attempt.finished",{rb},"status":503,'
                        f'"error_type":"runner_server_error","needs_retry":true'
                    )
                    ev.append(
                        f'"source":"gateway","event":"runner.terminated","runner_id":"{runner}",'
                        f'"reason":"status_503","request_id":"{rid}"'
                    )
                    ev.append(
                        f'"source":"gateway","event":"request.requeued",{base},"attempt":{a + 1},'
                        f'"reason":"server_error"'
                    )
                else:
                    ev.append(f'"source":"runner","event":"handler.finished",{rb},"status":200')
                    ev.append(
                        f'"source":"gateway","event":"attempt.finished",{rb},"status":200,'
                        f'"x_trace_id":"{rng.getrandbits(64):016x}"'
                    )
            ev.append(f'"source":"gateway","event":"request.completed",{base},"status":200')
            if n_req % 50 == 0:
                ev.append(
                    f'"source":"gateway","event":"runner.health_check",'
                    f'"runner_id":"runner-{rng.randint(1, 400):04d}","ok":true'
                )
            for body in ev:
                t += timedelta(milliseconds=rng.randint(1, 200))
                buf.append("{" + f'"ts":{_ts(t, written)},' + body + "}\n")
                written += 1
            if len(buf) >= 10_000:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=1_500_000)
    args = parser.parse_args()
    n = generate(args.out, args.lines)
    print(f"{n} lines, {args.out.stat().st_size / 1e6:.0f} MB -> {args.out}")


if __name__ == "__main__":
    main()
