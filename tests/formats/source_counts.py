"""Per source: what went in (lines, or spans and log records) against events and rejected.

    python tests/formats/source_counts.py [--no-app]

Runs what the format tests run, for real: nginx-light in front of its upstreams (the documented
format, the same format without ``$upstream_header_time``, the default ``combined`` format),
the instrumented FastAPI app exported three ways (``otel_fastapi_app.py``, ~70 s; ``--no-app``
leaves it out), and imports the fixtures (Envoy, Istio, the OTLP spec's and Jaeger's public
files, our Tempo-shaped files). Each source goes into its own fresh database; the input is
counted from the files themselves (lines; spans and log records by walking the JSON), the
events are the rows in ``events`` after every file's import and cross-file resolution, and the
findings are what ``analyze`` reports. Prints a Markdown table (docs/formats.md quotes it).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from nginx_server import nginx_proxy, post, wait_for_lines  # noqa: E402

from analyzer.analysis import analyze  # noqa: E402
from analyzer.config import Config  # noqa: E402
from analyzer.importers import import_paths  # noqa: E402
from analyzer.importers.formats.base import iter_json_values  # noqa: E402
from analyzer.store import connect  # noqa: E402

FIXTURES = HERE / "fixtures"


def nginx_logs(folder: Path) -> dict[str, Path]:
    """The requests of the real-nginx tests, through the real nginx, in its three logs."""
    folder.mkdir()
    with nginx_proxy(folder) as proxy:
        for i in range(4):
            post(proxy.url + "/predict", f"req-ng-{i}")
        with contextlib.suppress(OSError):  # the client gives up: nginx logs 499
            post(proxy.url + "/predict?sleep=1.5", "req-ng-gone", timeout=0.3)
        time.sleep(1.3)
        post(proxy.url + "/health", None)
        post(proxy.url + "/dead/predict", "req-dead")
        for i in range(2):
            post(proxy.url + "/refused/predict", f"req-ref-{i}")
            post(proxy.url + "/timeout/predict", f"req-to-{i}")
        post(proxy.url + "/timeout-only/predict", "req-to-only")
        post(proxy.url + "/app504/predict", "req-app504")
        for log in (proxy.access_log, proxy.no_header_log, proxy.combined_log):
            wait_for_lines(log, 13)
        return {
            "nginx, documented format (real nginx)": proxy.access_log,
            "nginx, documented format without $upstream_header_time (real nginx)": (
                proxy.no_header_log
            ),
            "nginx, default combined format (real nginx)": proxy.combined_log,
        }


def _otel_items(doc: Any) -> Counter[str]:
    """Spans and log records in one JSON value, counted by walking it (not by the importer)."""
    found: Counter[str] = Counter()
    if not isinstance(doc, dict):
        return found
    doc = doc.get("result", doc) if isinstance(doc.get("result"), dict) else doc
    if "context" in doc and "name" in doc:  # the ConsoleSpanExporter: one object per span
        found["spans"] += 1
    for res in doc.get("resourceSpans") or doc.get("batches") or []:
        for scope in res.get("scopeSpans") or res.get("instrumentationLibrarySpans") or []:
            found["spans"] += len(scope.get("spans") or [])
    for res in doc.get("resourceLogs") or []:
        for scope in res.get("scopeLogs") or res.get("instrumentationLibraryLogs") or []:
            found["logs"] += len(scope.get("logRecords") or [])
    return found


def _input(paths: Iterable[Path]) -> str:
    """What went in, file by file: lines, or spans and log records."""
    return " ; ".join(_one_input(path) for path in paths)


def _one_input(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix not in (".json", ".jsonl"):
        return _plural(sum(1 for line in text.splitlines() if line.strip()), "line")
    otel: Counter[str] = Counter()
    for item in iter_json_values(text):
        if isinstance(item, tuple):
            otel += _otel_items(item[1])
    parts = [_plural(otel[k], w) for k, w in (("spans", "span"), ("logs", "log record")) if otel[k]]
    return f"{path.name}: " + (" + ".join(parts) or "no span")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def measure(paths: list[Path], db: Path) -> tuple[str, int, int, int, str]:
    """(input, events, rejected, skipped, findings) of importing ``paths`` one file at a time."""
    con = connect(db)
    try:
        rejected = skipped = 0
        for path in paths:
            summary = import_paths(con, [path])
            rejected += summary.rejected
            skipped += summary.skipped
        events = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        codes = Counter(f.code for f in analyze(con, Config()).findings)
    finally:
        con.close()
    found = ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(codes.items())) or "none"
    return _input(paths), events, rejected, skipped, found


def _istio_log(folder: Path) -> Path:
    from test_formats_istio import LINES

    path = folder / "istio-proxy.log"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _app_exports(folder: Path) -> dict[str, list[Path]]:
    from otel_fastapi_app import run_exports

    out = folder / "otel-app"
    run_exports(out)
    app = "OTel, real FastAPI app"
    return {
        f"{app}: ConsoleSpanExporter": [out / "console.json"],
        f"{app}: OTLP/JSON via MessageToJson + logs file": [out / "otlp.jsonl", out / "logs.jsonl"],
        f"{app}: rotated over two files + logs file": [
            out / "split.1.jsonl",
            out / "split.2.jsonl",
            out / "logs.jsonl",
        ],
    }


def sources(folder: Path, with_app: bool) -> dict[str, list[Path]]:
    public, shapes = FIXTURES / "public", FIXTURES / "shapes"
    out: dict[str, list[Path]] = {name: [p] for name, p in nginx_logs(folder / "nginx").items()}
    out["Envoy, default format + attempt count (fixture)"] = [FIXTURES / "envoy_access.log"]
    out["Istio sidecar, default text format (test lines)"] = [_istio_log(folder)]
    if with_app:
        out.update(_app_exports(folder))
    out["OTLP spec examples: trace + logs (+ metrics, skipped)"] = [
        public / "otlp-proto-trace.json",
        public / "otlp-proto-logs.json",
        public / "otlp-proto-metrics.json",
    ]
    out["Tempo vulture shape (ours)"] = [shapes / "tempo-vulture-shape.json"]
    out["Tempo batches shape (ours)"] = [shapes / "tempo-batches-shape.json"]
    out["collector pdatatest golden file"] = [public / "collector-pdatatest-traces.json"]
    out["Jaeger api_v3 GetTrace"] = [public / "jaeger-apiv3-GetTrace.json"]
    out["Jaeger otlp2jaeger-in"] = [public / "jaeger-otlp2jaeger-in.json"]
    out["Jaeger storage example_trace"] = [public / "jaeger-storage-example_trace.json"]
    out["Jaeger storage log_tags_trace"] = [public / "jaeger-storage-log_tags_trace.json"]
    return out


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="source-counts-") as tmp:
        folder = Path(tmp)
        rows = [
            (name, *measure(paths, folder / f"db{i}.duckdb"))
            for i, (name, paths) in enumerate(sources(folder, "--no-app" not in argv).items())
        ]
    print("| source | in | events | rejected | skipped | findings |")
    print("|---|---|---|---|---|---|")
    for name, given, events, rejected, skipped, found in rows:
        print(f"| {name} | {given} | {events} | {rejected} | {skipped} | {found} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
