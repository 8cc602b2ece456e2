"""`analyzer check`: exit codes 0/1/2, every output format validated, baselines, configuration."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.check.sarif_check import check_sarif
from tests.rules.cases import load_cases, write_logs

CASES = load_cases()


def _logs(folder: Path, codes: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_logs([c for c in CASES if c.code in codes], folder)
    return folder


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """S001 cases (2 errors) and S005 cases (2 warnings), plus their near-misses."""
    return _logs(tmp_path_factory.mktemp("check") / "logs", ("S001", "S005"))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, logs: Path) -> Path:
    target = tmp_path_factory.mktemp("checkdb") / "a.duckdb"
    assert main(["import", str(logs), "--db", str(target)]) == 0
    return target


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_text_report_and_exit_1_on_errors(capsys: pytest.CaptureFixture[str], logs: Path) -> None:
    code, out, _ = _run(capsys, str(logs))
    assert code == 1
    assert out.index("S001 status.503-for-ordinary-error: 2 findings") < out.index("S005")
    assert "4 findings (2 errors, 2 warnings, 0 info)" in out
    assert "FAIL" in out.splitlines()[-1]
    assert len(out.splitlines()) < 40  # one screen


def test_fail_on_levels(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    assert _run(capsys, "--db", str(db), "--fail-on", "never")[0] == 0
    assert _run(capsys, "--db", str(db), "--select", "S005")[0] == 0
    assert _run(capsys, "--db", str(db), "--select", "S005", "--fail-on", "warning")[0] == 1
    assert _run(capsys, "--db", str(db), "--ignore", "S001")[0] == 0
    assert _run(capsys, "--db", str(db), "--select", "S", "--ignore", "S001,S005")[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["/nonexistent/logs"],
        ["--db", "/nonexistent/a.duckdb"],
        ["--select", "X999"],
        ["--ignore", "Q"],
        ["--format", "yaml"],
        ["--fail-on", "sometimes"],
        ["--config", "/nonexistent/analyzer.toml"],
    ],
)
def test_exit_2_on_usage_errors(
    capsys: pytest.CaptureFixture[str], db: Path, argv: list[str]
) -> None:
    extra = (
        []
        if any(a.startswith("/nonexistent/logs") or a == "--db" for a in argv)
        else ["--db", str(db)]
    )
    code, out, err = _run(capsys, *extra, *argv)
    assert code == 2
    assert "Traceback" not in err
    assert out == ""


def test_exit_2_on_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bogus = tmp_path / "x.duckdb"
    bogus.write_text("not a database")
    code, _, err = _run(capsys, "--db", str(bogus))
    assert code == 2 and err.startswith("analyzer: error:")


def test_json_document(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = _run(capsys, "--db", str(db), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"findings", "summary"}
    s = doc["summary"]
    for key in ("events", "requests", "runners", "rejected_lines", "findings_by_code"):
        assert key in s
    assert s["findings_by_code"] == {"S001": 2, "S005": 2}
    assert s["rejected_lines"] == 0 and s["events"] > 0 and s["requests"] > 0
    keys = {
        "code",
        "name",
        "severity",
        "request_id",
        "runner_id",
        "app",
        "ts",
        "message",
        "evidence",
        "cost",
        "fingerprint",
        "endpoint",
    }
    for f in doc["findings"]:
        assert set(f) == keys
        assert set(f["cost"]) == {"runners_killed", "gpu_seconds", "cost_usd"}
        assert f["evidence"] and set(f["evidence"][0]) == {
            "event_id",
            "file",
            "line",
            "event",
            "ts",
        }
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", f["ts"])
    s001 = [f for f in doc["findings"] if f["code"] == "S001"]
    assert all(f["severity"] == "error" for f in s001)
    assert sum(f["cost"]["runners_killed"] for f in s001) == 2


def test_sarif(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = _run(capsys, "--db", str(db), "--format", "sarif")
    assert code == 1
    doc = json.loads(out)
    check_sarif(doc)
    run = doc["runs"][0]
    assert len(run["tool"]["driver"]["rules"]) == 19
    assert len(run["results"]) == 4
    s001 = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "S001")
    assert s001["helpUri"].endswith("rules.md#s001-status503-for-ordinary-error")
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].endswith(("runner.jsonl", "gateway.jsonl"))
        assert loc["region"]["startLine"] >= 1


def test_junit(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = _run(capsys, "--db", str(db), "--format", "junit", "--select", "S")
    assert code == 1
    root = ET.fromstring(out.split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == [f"analyzer.S00{i}" for i in range(1, 7)]
    assert suite.get("tests") == "6" and suite.get("failures") == "2"
    failures = {c.get("classname"): len(c.findall("failure")) for c in cases}
    assert failures == {
        "analyzer.S001": 2,
        "analyzer.S002": 0,
        "analyzer.S003": 0,
        "analyzer.S004": 0,
        "analyzer.S005": 2,
        "analyzer.S006": 0,
    }
    fail = cases[0].find("failure")
    assert fail is not None and fail.get("type") == "error" and "evidence:" in (fail.text or "")


def test_github_annotations(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = _run(capsys, "--db", str(db), "--format", "github")
    assert code == 1
    lines = out.splitlines()
    pattern = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,title=[^:]+::\S.*$")
    annotations = [ln for ln in lines if ln.startswith("::")]
    assert len(annotations) == 4 and all(pattern.match(ln) for ln in annotations)
    assert sum(ln.startswith("::error ") for ln in annotations) == 2
    assert sum(ln.startswith("::warning ") for ln in annotations) == 2


def test_output_file(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    code, out, err = _run(capsys, "--db", str(db), "--format", "sarif", "--output", str(target))
    assert code == 1 and out == "" and "report written" in err
    check_sarif(json.loads(target.read_text()))


def test_baseline_reports_only_new_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    code, _, err = _run(capsys, "--db", str(db), "--write-baseline", str(baseline))
    assert code == 0 and "baseline" in err
    doc = json.loads(baseline.read_text())
    assert sum(e["count"] for e in doc["fingerprints"].values()) == 4
    assert "-r1" not in baseline.read_text()  # fingerprints hold no request ids
    code, out, _ = _run(capsys, "--db", str(db), "--baseline", str(baseline), "--format", "json")
    assert code == 0 and json.loads(out)["findings"] == []
    assert json.loads(out)["summary"]["baseline_suppressed"] == 4
    grown = _logs(tmp_path / "grown", ("S001", "S005", "S004"))
    code, out, _ = _run(capsys, str(grown), "--baseline", str(baseline), "--format", "json")
    assert code == 1
    assert {f["code"] for f in json.loads(out)["findings"]} == {"S004"}


def test_bad_baseline_is_exit_2(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{}")
    assert _run(capsys, "--db", str(db), "--baseline", str(bad))[0] == 2
    assert _run(capsys, "--db", str(db), "--baseline", str(tmp_path / "none.json"))[0] == 2


def test_rejected_lines_are_counted_not_fatal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    logs = _logs(tmp_path / "logs", ("S004",))
    (logs / "broken.jsonl").write_text('not json\n{"source": "gateway"}\n[1, 2]\n')
    code, out, err = _run(capsys, str(logs), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["rejected_lines"] == 3
    assert doc["summary"]["findings_by_code"] == {"S004": 2}
    assert "3 lines rejected" in err


def test_a_foreign_database_is_refused_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import duckdb

    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    code, _, err = _run(capsys, "--db", str(other))
    assert code == 2 and "not an analyzer database" in err
    con = duckdb.connect(str(other), read_only=True)
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    tables = {r[0] for r in rows}
    con.close()
    assert tables == {"t"}


def test_current_findings_are_read_while_another_reader_holds_the_db(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    from analyzer import store

    assert _run(capsys, "--db", str(db), "--fail-on", "never")[0] == 0  # analysed
    reader = store.connect(db, read_only=True)  # e.g. the dashboard
    try:
        code, out, _ = _run(capsys, "--db", str(db), "--format", "json")
    finally:
        reader.close()
    assert code == 1 and json.loads(out)["summary"]["findings_by_code"] == {"S001": 2, "S005": 2}
