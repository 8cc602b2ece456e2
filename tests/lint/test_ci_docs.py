"""The pre-commit hook and the GitHub Actions example of docs/ci.md are runnable as written:
the hook's entry, given staged files as pre-commit passes them, and the workflow's lint step,
run on a checkout, produce the exit codes and the SARIF file the upload step names."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
BAD = (ROOT / "tests" / "lint" / "cases" / "S001.yml").read_text(encoding="utf-8")
GOOD = (ROOT / "tests" / "lint" / "seeds" / "seed000_cancellation.py").read_text(encoding="utf-8")


def _bad_source() -> str:
    return yaml.safe_load(BAD)["cases"][0]["source"]


def test_pre_commit_hook_runs_on_staged_files(tmp_path: Path, monkeypatch, capsys) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "analyzer-lint" and hook["language"] == "python"
    assert "python" in hook["types_or"]
    argv = shlex.split(hook["entry"])
    assert argv[0] == "analyzer"  # the console script of pyproject.toml
    assert 'analyzer = "analyzer.cli:entry"' in (ROOT / "pyproject.toml").read_text()
    monkeypatch.chdir(tmp_path)
    Path("good.py").write_text(GOOD, encoding="utf-8")
    Path("bad.py").write_text(_bad_source(), encoding="utf-8")
    assert main([*argv[1:], "good.py"]) == 0
    assert main([*argv[1:], "good.py", "bad.py"]) == 1
    assert "bad.py:10:" in capsys.readouterr().out


def _lint_workflow() -> dict:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    flows = [yaml.safe_load(b) for b in blocks]
    return next(f for f in flows if isinstance(f, dict) and f.get("name") == "analyzer-lint")


def test_the_github_actions_example_lints_and_uploads_sarif(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    flow = _lint_workflow()
    assert flow["permissions"]["security-events"] == "write"
    steps = flow["jobs"]["lint"]["steps"]
    lint_step = next(s for s in steps if "--format sarif" in s.get("run", ""))
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    assert upload["if"] == "always()"
    argv = shlex.split(lint_step["run"])
    assert argv[:2] == ["analyzer", "lint"]
    assert argv[argv.index("--output") + 1] == upload["with"]["sarif_file"]
    # run the step on a checkout with one bad app and an empty baseline file's absence handled
    (tmp_path / ".git").mkdir()
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "app.py").write_text(_bad_source(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    baseline = argv[argv.index("--baseline") + 1]
    assert main(["lint", "apps/", "--write-baseline", baseline, "--fail-on", "never"]) == 0
    (tmp_path / "apps" / "new.py").write_text(
        _bad_source().replace("class App", "class Newer"), encoding="utf-8"
    )
    assert main(argv[1:]) == 1  # the new app's finding fails the job, the known one does not
    capsys.readouterr()
    doc = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    [result] = doc["runs"][0]["results"]
    phys = result["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "apps/new.py"
    assert phys["region"]["startLine"] == 10
