"""`analyzer lint` end to end through ``main(argv)``: formats, exit codes, selection, baseline,
configuration, inline suppression, bad input; SARIF validated against the official schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from analyzer.cli import main
from tests.check.sarif_check import check_sarif

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())

APP = """\
import asyncio
import fal
from fastapi import HTTPException


class Demo(fal.App):
    request_timeout = 60

    @fal.endpoint("/predict")
    async def predict(self, prompt: str) -> str:
        try:
            return await asyncio.wait_for(self.run(prompt), 30)
        except KeyError:
            raise HTTPException(503, "unknown prompt")

    @fal.endpoint("/predict/cancel")
    async def cancel(self) -> None:
        self.current.cancel()
"""
S001_LINE, S001_COL = 14, 19
NEW = """\
import fal


class Other(fal.App):
    @fal.endpoint("/")
    def run(self, kernel: str) -> str:
        raise ValueError(f"unsupported triton kernel {kernel}")
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    src = tmp_path / "src" / "apps"
    src.mkdir(parents=True)
    (src / "demo.py").write_text(APP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_names_file_line_column_and_fails_on_error(repo: Path, capsys) -> None:
    code, out, _ = lint(capsys, "src")
    assert code == 1
    assert (
        f"src/apps/demo.py:{S001_LINE}:{S001_COL}: S001 [error] 503 answered in `except KeyError`"
        in out
    )
    assert "1 findings (1 errors, 0 warnings, 0 info) in 1 files, 1 apps" in out
    assert out.rstrip().endswith("1 at or above error: FAIL")
    assert lint(capsys, "src", "--fail-on", "never")[0] == 0


def test_json_findings_carry_file_line_column(repo: Path, capsys) -> None:
    code, out, _ = lint(capsys, "src", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    [f] = doc["findings"]
    assert {k: f[k] for k in ("code", "name", "severity", "file", "line", "column")} == {
        "code": "S001",
        "name": "status.503-for-ordinary-error",
        "severity": "error",
        "file": "src/apps/demo.py",
        "line": S001_LINE,
        "column": S001_COL,
    }
    assert f["snippet"] == APP.splitlines()[S001_LINE - 1]
    assert f["app"] == "Demo" and f["function"] == "predict" and len(f["fingerprint"]) == 16
    assert doc["summary"]["files"] == 1 and doc["summary"]["apps"] == 1
    assert doc["summary"]["findings_by_code"] == {"S001": 1} and doc["summary"]["failing"] == 1


def test_sarif_is_valid_against_the_official_schema_with_physical_locations(
    repo: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "src" / "apps" / "other.py").write_text(NEW, encoding="utf-8")
    monkeypatch.chdir(repo / "src")  # run below the repository root: URIs stay root-relative
    code, out, _ = lint(capsys, "apps", "--format", "sarif")
    doc = json.loads(out)
    assert code == 1
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    check_sarif(doc)
    results = doc["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["A001", "S001"]
    for r in results:
        phys = r["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert uri.startswith("src/apps/"), uri
        region = phys["region"]
        lines = (repo / uri).read_text(encoding="utf-8").splitlines()
        assert region["snippet"]["text"] == lines[region["startLine"] - 1]
        assert region["startColumn"] >= 1
    s001 = next(r for r in results if r["ruleId"] == "S001")
    assert s001["locations"][0]["physicalLocation"]["region"]["startLine"] == S001_LINE
    assert s001["locations"][0]["physicalLocation"]["region"]["startColumn"] == S001_COL
    rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {"S001", "A001", "A002", "C003"} <= rules and "L001" not in rules


def test_junit_and_github(repo: Path, capsys) -> None:
    _, out, _ = lint(capsys, "src", "--format", "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None and suite.get("name") == "analyzer.lint"
    failures = suite.findall(".//failure")
    assert len(failures) == 1 and f"demo.py:{S001_LINE}:{S001_COL}" in (failures[0].text or "")
    _, out, _ = lint(capsys, "src", "--format", "github")
    first = out.splitlines()[0]
    assert first.startswith(
        f"::error file=src/apps/demo.py,line={S001_LINE},col={S001_COL},title=S001 "
    ), first


def test_select_and_ignore(repo: Path, capsys) -> None:
    (repo / "src" / "apps" / "other.py").write_text(NEW, encoding="utf-8")

    def codes(*argv: str) -> list[str]:
        doc = json.loads(lint(capsys, "src", "--format", "json", *argv)[1])
        return [f["code"] for f in doc["findings"]]

    assert sorted(codes()) == ["A001", "S001"]
    assert codes("--select", "A") == ["A001"]
    assert codes("--ignore", "S001,A001") == []
    code, out, err = lint(capsys, "src", "--select", "Z9")
    assert code == 2 and "unknown rule code" in err and out == ""


def test_baseline_reports_only_new_findings(repo: Path, capsys) -> None:
    code, _, err = lint(capsys, "src", "--write-baseline", "lint-baseline.json")
    assert code == 0 and "1 findings, 1 fingerprints" in err
    assert lint(capsys, "src", "--baseline", "lint-baseline.json")[0] == 0
    # the known finding moves two lines down: still known (no line numbers in fingerprints)
    demo = repo / "src" / "apps" / "demo.py"
    demo.write_text("# moved\n# down\n" + APP, encoding="utf-8")
    (repo / "src" / "apps" / "other.py").write_text(NEW, encoding="utf-8")
    code, out, _ = lint(capsys, "src", "--baseline", "lint-baseline.json", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert [f["code"] for f in doc["findings"]] == ["A001"]
    assert doc["summary"]["baseline_suppressed"] == 1


def test_configuration_in_pyproject(repo: Path, capsys) -> None:
    (repo / "src" / "apps" / "other.py").write_text(NEW, encoding="utf-8")
    (repo / "pyproject.toml").write_text(
        """
[tool.analyzer]
fail-on = "warning"
ignore = ["A001"]

[tool.analyzer.rules.S001]
severity = "warning"

[tool.analyzer.lint]
paths = ["src"]
exclude = ["other.py"]
""",
        encoding="utf-8",
    )
    code, out, _ = lint(capsys, "--format", "json")  # no PATH: the configured paths
    doc = json.loads(out)
    assert code == 1  # a warning fails at fail-on = warning
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("S001", "warning")]
    assert doc["summary"]["files"] == 1


def test_inline_suppression(repo: Path, capsys) -> None:
    demo = repo / "src" / "apps" / "demo.py"
    demo.write_text(
        APP.replace('"unknown prompt")', '"unknown prompt")  # analyzer: ignore[S001]'),
        encoding="utf-8",
    )
    code, out, _ = lint(capsys, "src", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["findings"] == [] and doc["summary"]["suppressed"] == 1
    demo.write_text(
        APP.replace('"unknown prompt")', '"unknown prompt")  # analyzer: ignore[C003]'),
        encoding="utf-8",
    )
    assert lint(capsys, "src")[0] == 1  # another code's suppression does not hide S001


def test_missing_path_is_one_line_and_exit_2(repo: Path, capsys) -> None:
    code, out, err = lint(capsys, "nope/")
    assert code == 2 and out == ""
    assert err.strip() == "analyzer: error: file not found: nope/"


def test_unparsable_file_is_reported_and_the_rest_linted(repo: Path, capsys) -> None:
    broken = "import fal\n\nclass Broken(fal.App):\n    def run(self, x:\n"
    (repo / "src" / "apps" / "broken.py").write_text(broken, encoding="utf-8")
    (repo / "src" / "apps" / "latin.py").write_bytes(b"x = '\xe9'\n")
    # A file that can hold no app (neither `fal` nor `class` in it) is not parsed at all
    # (analyzer/lint/prefilter.py): its syntax error is Python's, ruff's or mypy's to report.
    (repo / "src" / "apps" / "plain.py").write_text("def f(:\n", encoding="utf-8")
    code, out, err = lint(capsys, "src", "--format", "json")
    doc = json.loads(out)
    assert code == 2
    assert [f["code"] for f in doc["findings"]] == ["S001"]
    assert doc["summary"]["files"] == 4
    reasons = {Path(u["file"]).name: u["reason"] for u in doc["summary"]["unparsable"]}
    assert set(reasons) == {"broken.py", "latin.py"}
    assert reasons["broken.py"].startswith("syntax error")
    assert "broken.py:4: cannot lint: syntax error" in err


def test_the_linted_code_is_never_imported_or_run(repo: Path, capsys) -> None:
    marker = repo / "ran.txt"
    (repo / "src" / "apps" / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nraise SystemExit(7)\n",
        encoding="utf-8",
    )
    code, _, _ = lint(capsys, "src")
    assert code == 1 and not marker.exists()


def test_rules_command_shows_the_source_only_rules(capsys) -> None:
    assert main(["rules", "A002"]) == 0
    out = capsys.readouterr().out
    assert "A002 cancel.no-cancel-route (warning)" in out and "/cancel" in out


def test_text_output_never_carries_a_terminal_escape(repo: Path, capsys) -> None:
    evil = repo / "src" / "apps" / "evil\x1b[2Jname.py"
    evil.write_text(NEW, encoding="utf-8")
    code, out, _ = lint(capsys, "src")
    assert code == 1 and "\x1b" not in out
    assert "evil\u241b[2Jname.py:7:" in out  # ESC shown as its picture


def test_workers_option(repo: Path, capsys) -> None:
    code, one, _ = lint(capsys, "src", "--format", "json", "--workers", "1")
    assert code == 1 and [f["code"] for f in json.loads(one)["findings"]] == ["S001"]
    assert lint(capsys, "src", "--format", "json", "--workers", "3")[1] == one
    code, out, err = lint(capsys, "src", "--workers", "0")
    assert code == 2 and out == "" and "--workers: must be a whole number >= 1" in err
