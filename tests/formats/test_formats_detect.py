"""Format detection from content (the importer's own ``registry.detect``): every format, gz
input, and a file that matches none."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest
from formats_helpers import FIXTURES

from analyzer.cli import main
from analyzer.errors import UnknownFormatError
from analyzer.importers.formats import FOREIGN_FORMATS
from analyzer.importers.registry import detect

EXPECTED = {
    "requests_page.json": "fal_requests",
    "logs_history.json": "fal_logs",
    "log_drain.ndjson": "fal_logs",
    "app_events.json": "fal_events",
    "runners.json": "fal_runners",
    "otlp_traces.jsonl": "otel",
    "nginx_access.log": "nginx",
    "envoy_access.log": "envoy",
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_each_fixture_is_detected_from_content(name: str, fmt: str, tmp_path: Path) -> None:
    assert detect(FIXTURES / name).name == fmt
    # the content decides, not the name
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((FIXTURES / name).read_bytes())
    assert detect(renamed).name == fmt


def test_console_exporter_output_and_gzip(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from otel_app import run_app

    plain = tmp_path / "spans.log"
    with plain.open("w") as out:
        run_app(out)
    assert detect(plain).name == "otel"
    packed = tmp_path / "requests.json.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "requests_page.json").read_bytes()))
    assert detect(packed).name == "fal_requests"


def test_native_lines_are_not_claimed_by_a_foreign_format(repo_root: Path, tmp_path: Path) -> None:
    for path in sorted((repo_root / "sample_logs" / "native").glob("[!_]*.jsonl"))[:3]:
        assert detect(path).name == "native", path.name
    native = json.dumps(
        {
            "ts": "2026-11-20T14:00:00Z",
            "source": "gateway",
            "event": "request.received",
            "request_id": "r1",
        }
    )
    plain = tmp_path / "one.log"  # no .jsonl name to fall back on: the content decides
    plain.write_text(native + "\n")
    assert detect(plain).name == "native"


def test_a_file_matching_no_format_names_the_formats_tried(tmp_path: Path) -> None:
    odd = tmp_path / "odd.log"
    odd.write_text("hello world\nthis is not a log format we know\n")
    with pytest.raises(UnknownFormatError) as info:
        detect(odd)
    for fmt in FOREIGN_FORMATS:
        assert fmt.name in str(info.value)


def test_formats_command_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in ["native", *(f.name for f in FOREIGN_FORMATS)]:
        assert f"  {name} " in out
    assert main(["formats", "--json"]) == 0
    listed = [e["name"] for e in json.loads(capsys.readouterr().out)]
    assert listed[0] == "native" and set(listed) >= set(EXPECTED.values())


def test_cli_import_detects_forces_and_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "a.duckdb")
    assert main(["import", str(FIXTURES / "envoy_access.log"), "--db", db]) == 0
    # forced: an access log read as nginx is rejected line by line, not silently dropped
    forced = tmp_path / "access.txt"
    forced.write_bytes((FIXTURES / "envoy_access.log").read_bytes())
    assert main(["import", str(forced), "--format", "nginx", "--db", db]) == 0
    odd = tmp_path / "odd.log"
    odd.write_text("hello world\n")
    capsys.readouterr()
    assert main(["import", str(odd), "--db", db]) == 2
    err = capsys.readouterr().err
    assert "matches no known format" in err and "fal_requests" in err and "envoy" in err
    import duckdb

    con = duckdb.connect(db, read_only=True)
    rows = dict(con.execute("SELECT path, format FROM imports").fetchall())
    rejected = con.execute("SELECT count(*) FROM rejected WHERE file = ?", [str(forced)]).fetchone()
    origins = {r[0] for r in con.execute("SELECT DISTINCT origin FROM events").fetchall()}
    con.close()
    assert rows[str(FIXTURES / "envoy_access.log")] == "envoy" and rows[str(forced)] == "nginx"
    assert rejected is not None and rejected[0] == 7  # every line named with its reason
    assert origins == {"envoy"}


def test_one_directory_of_mixed_formats(tmp_path: Path, repo_root: Path) -> None:
    import duckdb

    from analyzer.importers import import_paths
    from analyzer.store import connect

    logs = tmp_path / "logs"
    logs.mkdir()
    for name in EXPECTED:
        (logs / name).write_bytes((FIXTURES / name).read_bytes())
    gateway = (repo_root / "sample_logs" / "native" / "gateway.jsonl").read_text().splitlines()
    (logs / "gateway.jsonl").write_text("\n".join(gateway[:50]) + "\n")
    con = connect(tmp_path / "m.duckdb")
    summary = import_paths(con, [logs])
    con.close()
    got = {Path(f.path).name: f.format for f in summary.files}
    assert got == {**EXPECTED, "gateway.jsonl": "native"}
    ro = duckdb.connect(str(tmp_path / "m.duckdb"), read_only=True)
    origins = {r[0] for r in ro.execute("SELECT DISTINCT origin FROM events").fetchall()}
    ro.close()
    assert origins == {*EXPECTED.values(), "native"}


def test_the_cli_list_of_format_names_matches_the_registry() -> None:
    """The help texts use a plain list (no importer imported at start-up): kept in step."""
    from analyzer.importers.registry import formats
    from analyzer.log_formats import LOG_FORMAT_NAMES

    assert tuple(f.name for f in formats()) == LOG_FORMAT_NAMES
