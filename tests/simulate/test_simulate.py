"""The simulator's output: valid lines, determinism, exact ground truth, the committed sample."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pytest
import sim_oracle

from analyzer.cli import main
from analyzer.events import parse_event
from analyzer.simulate import simulate
from analyzer.simulate.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_logs" / "native"
CATALOGUE = {
    "S001",
    "S002",
    "S003",
    "S004",
    "S005",
    "S006",
    "R001",
    "R002",
    "R003",
    "R004",
    "C001",
    "C002",
    "C003",
    "C004",
    "C005",
    "C006",
    "C007",
    "L001",
    "L002",
}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("day")
    simulate(out, ["incident_day"], requests=800, seed=11)
    return out


def _lines(path: Path) -> list[str]:
    if path.name.endswith(".gz"):
        return gzip.decompress(path.read_bytes()).decode().splitlines()
    return path.read_text(encoding="utf-8").splitlines()


def test_every_line_validates(day: Path) -> None:
    n = 0
    for path in sorted(day.glob("[!_]*.jsonl")):
        for line in _lines(path):
            ev = parse_event(json.loads(line))
            assert type(ev).__name__ != "GenericEvent", line
            n += 1
    assert n > 5000


def test_files_are_in_logger_order(day: Path) -> None:
    """Each runner writes its lines in its own clock order; the gateway in its clock order."""
    for path in sorted(day.glob("[!_]*.jsonl")):
        last: dict[str, float] = defaultdict(float)
        for line in _lines(path):
            e = json.loads(line)
            t = sim_oracle.to_s(e["ts"])
            key = e.get("runner_id", "") if e["source"] == "runner" else "gw"
            assert t >= last[key] - 0.0011, (path.name, line)  # ms rounding
            last[key] = t


def test_gateway_and_runner_files_are_separate(day: Path) -> None:
    names = sorted(p.name for p in day.iterdir())
    assert "gateway.jsonl" in names and "_ground_truth.jsonl" in names
    for path in day.glob("runner-*.jsonl"):
        assert all(json.loads(x)["source"] == "runner" for x in _lines(path)[:200])
    assert all(json.loads(x)["source"] == "gateway" for x in _lines(day / "gateway.jsonl")[:200])


def test_ground_truth_is_exact(day: Path) -> None:
    """An independent reading of the logs by the firing conditions finds exactly the truth."""
    found, warnings = sim_oracle.analyse(day)
    truth = sim_oracle.truth_keys(day)
    assert sorted(truth - found) == [] and sorted(found - truth) == []
    assert warnings == []


def test_same_seed_byte_identical(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(a, ["poison_503", "orphaned_child"], requests=300, seed=5, gz=True)
    simulate(b, ["poison_503", "orphaned_child"], requests=300, seed=5, gz=True)
    simulate(c, ["poison_503", "orphaned_child"], requests=300, seed=6, gz=True)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "gateway.jsonl.gz").read_bytes() != (c / "gateway.jsonl.gz").read_bytes()


def test_split_by_size(tmp_path: Path) -> None:
    simulate(tmp_path, ["healthy"], requests=400, seed=3, split_mb=0.05)
    parts = sorted(tmp_path.glob("gateway-*.jsonl"))
    assert len(parts) >= 2
    assert all(p.stat().st_size < 0.05 * 1024 * 1024 + 4096 for p in parts)


def test_healthy_only_has_no_truth(tmp_path: Path) -> None:
    res = simulate(tmp_path, ["healthy"], requests=500, seed=2)
    assert res.truth == []
    found, warnings = sim_oracle.analyse(tmp_path)
    assert found == set() and warnings == []


def test_each_scenario_alone_matches_its_truth(tmp_path: Path) -> None:
    for name in SCENARIOS:
        out = tmp_path / name
        simulate(out, [name], requests=60, seed=4)
        found, _ = sim_oracle.analyse(out)
        assert found == sim_oracle.truth_keys(out), name


def test_committed_sample_covers_the_catalogue() -> None:
    rows = [json.loads(x) for x in (SAMPLE / "_ground_truth.jsonl").read_text().splitlines()]
    assert {r["code"] for r in rows} >= CATALOGUE
    for r in rows:
        assert set(r) == {"code", "request_id", "runner_id", "app", "scenario"}
        assert (r["request_id"] is None) == (r["code"] == "L001")


def test_committed_sample_truth_is_exact() -> None:
    found, warnings = sim_oracle.analyse(SAMPLE)
    assert found == sim_oracle.truth_keys(SAMPLE)
    assert warnings == []


def test_committed_sample_is_what_the_documented_command_writes(tmp_path: Path) -> None:
    """sample_logs/README.md's command regenerates the committed files byte for byte."""
    readme = (ROOT / "sample_logs" / "README.md").read_text()
    assert (
        "analyzer simulate incident_day --out sample_logs/native --requests 2500 --seed 7" in readme
    )
    simulate(tmp_path, ["incident_day"], requests=2500, seed=7)
    for p in sorted(SAMPLE.iterdir()):
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name


def test_cli_list_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "poison_503" in out and "incident_day" in out
    assert main(["simulate", "no_such_scenario", "--out", str(tmp_path)]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert main(["simulate"]) == 2
    assert main(["simulate", "healthy", "--out", str(tmp_path / "x"), "--requests", "50"]) == 0
    assert (tmp_path / "x" / "gateway.jsonl").exists()


def test_out_dir_errors_and_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["simulate", "healthy", "--out", str(afile), "--requests", "10"]) == 2
    assert "cannot write into" in capsys.readouterr().err
    out = tmp_path / "day"
    simulate(out, ["healthy"], requests=30, seed=1)
    (out / "notes.txt").write_text("mine")
    simulate(out, ["healthy"], requests=30, seed=1, gz=True)
    names = sorted(p.name for p in out.iterdir())
    assert "gateway.jsonl" not in names and "gateway.jsonl.gz" in names and "notes.txt" in names


def _completion_gaps(out: Path) -> tuple[int, int]:
    received = completed = 0
    for line in _lines(out / "gateway.jsonl"):
        e = json.loads(line)
        received += e["event"] == "request.received"
        completed += e["event"] == "request.completed"
    return received, completed


def test_every_request_completes(day: Path) -> None:
    received, completed = _completion_gaps(day)
    assert received == completed > 700


def test_dense_repeated_day_does_not_starve(tmp_path: Path) -> None:
    """Scenarios repeat per 5,000 requests; app-level bursts must not (they starved an app)."""
    res = simulate(tmp_path, ["setup_failure_loop", "timeout_loop"], requests=15000, seed=2)
    received, completed = _completion_gaps(tmp_path)
    assert received == completed == res.requests
    assert sum(r["code"] == "R003" for r in res.truth) == 6  # 3 repetitions x 2 requests
    stops = [
        json.loads(x)["reason"]
        for x in _lines(tmp_path / "gateway.jsonl")
        if '"runner.terminated"' in x and ("setup_failed" in x or "startup_timeout" in x)
    ]
    assert 4 <= len(stops) <= 9  # one tts burst and one flux-video burst, not three of each
