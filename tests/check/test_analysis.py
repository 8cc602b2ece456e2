"""analyze / ensure_analyzed and the configuration: staleness, select, thresholds, allowances."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import store
from analyzer.analysis import analyze, ensure_analyzed, is_current
from analyzer.cli import main
from analyzer.config import Config, ConfigError, config_from_dict, load_config
from analyzer.store import get_meta
from tests.rules.cases import load_cases, write_logs
from tests.rules.loader import load

CASES = load_cases()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("analysis")
    write_logs([c for c in CASES if c.code in ("C004", "S001")], folder)
    target = folder / "a.duckdb"
    con = store.connect(target)
    load(con, [folder])
    con.close()
    return target


def test_ensure_analyzed_reuses_current_findings(db: Path) -> None:
    con = store.connect(db)
    try:
        first = ensure_analyzed(con)
        assert first.extra.get("analysed") and is_current(con)
        again = ensure_analyzed(con)
        assert not again.extra.get("analysed")
        assert again.findings == first.findings
        narrower = ensure_analyzed(con, Config(select=["C"]))  # a subset: read back, filtered
        assert not narrower.extra.get("analysed")
        assert {f.code for f in narrower.findings} == {"C004"}
        tuned = ensure_analyzed(con, Config(rules={"C004": {"threshold_s": 20}}))
        assert tuned.extra.get("analysed") and not tuned.replayed  # rules only, no replay
        assert {f.code for f in tuned.findings} == {"S001"}
        assert get_meta(con, "analysis_events") is not None
        assert con.execute("SELECT count(*) FROM findings").fetchone() == (len(tuned.findings),)
    finally:
        con.close()


def test_findings_table_matches_the_documented_columns(db: Path) -> None:
    con = store.connect(db)
    try:
        analyze(con)
        cols = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
        doc = (Path(__file__).resolve().parents[2] / "docs" / "tables.md").read_text()
        section = doc.split("### `findings`", 1)[1].split("\n## ", 1)[0]
        documented = [
            ln.split("|")[1].strip()
            for ln in section.splitlines()
            if ln.startswith("| ") and not ln.startswith("| column")
        ]
        assert cols == documented
    finally:
        con.close()


def test_severity_override_and_allowance(db: Path) -> None:
    con = store.connect(db)
    try:
        s001_apps = {f.app for f in analyze(con).findings if f.code == "S001"}
        app = sorted(s001_apps)[0]
        res = analyze(con, Config(rules={"C004": {"severity": "error"}}, allow={app: ["S00"]}))
        assert {f.severity for f in res.findings if f.code == "C004"} == {"error"}
        assert app not in {f.app for f in res.findings if f.code == "S001"}
        assert res.allowed == 1
    finally:
        con.close()


def test_config_files(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.analyzer]\nfail-on = "warning"\nignore = ["L002"]\n'
        "[tool.analyzer.rules.c004]\nthreshold_s = 9\n"
        '[tool.analyzer.allow]\n"acme/legacy" = ["S005"]\n'
        '[[tool.analyzer.error-patterns]]\nerror_class = "gpu_fault"\nfield = "message"\n'
        'pattern = "Xid 79"\n'
    )
    cfg = load_config(search_dir=tmp_path)
    assert cfg.fail_on == "warning" and cfg.ignore == ["L002"]
    assert cfg.rules == {"C004": {"threshold_s": 9}} and cfg.allow == {"acme/legacy": ["S005"]}
    assert cfg.error_patterns[0].pattern == "Xid 79"
    (tmp_path / "analyzer.toml").write_text('fail-on = "never"\npolicy = "p.toml"\n')
    cfg = load_config(search_dir=tmp_path)  # analyzer.toml wins
    assert cfg.fail_on == "never" and cfg.policy == str(tmp_path / "p.toml")
    assert load_config(search_dir=tmp_path / "nowhere") == Config()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"fail-on": "sometimes"}, "fail_on"),
        ({"colour": "blue"}, "colour"),
        ({"price-per-gpu-hour": -1}, "price_per_gpu_hour"),
        (
            {"error-patterns": [{"error_class": "gpu_fault", "field": "message", "pattern": "("}]},
            "error_patterns",
        ),
    ],
)
def test_bad_config_is_a_user_error(data: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data, source="analyzer.toml")


def test_bad_rule_options_are_user_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in (
        '[rules.C004]\nthreshold_s = "slow"\n',
        "[rules.Z001]\nx = 1\n",
        "[rules.C004]\nunknown = 1\n",
        "fail-on = [",
        '[rules.S001]\nseverity = "x"\n',
    ):
        cfg = tmp_path / "analyzer.toml"
        cfg.write_text(text)
        assert main(["check", "--db", str(db), "--config", str(cfg)]) == 2, text
        err = capsys.readouterr().err
        assert err.startswith("analyzer: error:") and "Traceback" not in err


def test_config_file_drives_the_check(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "analyzer.toml"
    cfg.write_text('fail-on = "warning"\nselect = ["C004"]\n')
    assert main(["check", "--db", str(db), "--config", str(cfg)]) == 1
    cfg.write_text('fail-on = "warning"\nselect = ["C004"]\n[rules.C004]\nthreshold_s = 30\n')
    assert main(["check", "--db", str(db), "--config", str(cfg)]) == 0
    assert main(["check", "--db", str(db), "--config", str(cfg), "--fail-on", "never"]) == 0
    capsys.readouterr()


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(code in out for code in ("S001", "R004", "C007", "L002"))
    assert main(["rules", "s001"]) == 0
    out = capsys.readouterr().out
    assert "status.503-for-ordinary-error" in out and "Best practice" in out
    assert main(["rules", "C004"]) == 0
    assert "threshold_s = 5.0" in capsys.readouterr().out
    assert main(["rules", "X999"]) == 2


def test_check_format_choices_match_the_formatters() -> None:
    from analyzer.commands.check_cmd import DEFAULT_DB, FORMAT_NAMES
    from analyzer.report import FORMATTERS
    from analyzer.store import DEFAULT_DB as STORE_DEFAULT

    assert set(FORMAT_NAMES) == set(FORMATTERS) and DEFAULT_DB == STORE_DEFAULT


def test_config_error_patterns_reach_the_replay(db: Path) -> None:
    """A team's own pattern reclassifies an error for the replay too, not only for the rules:
    the 503 it answered becomes a legitimate one (no needless termination, no S001)."""
    con = store.connect(db)
    try:
        analyze(con)
        needless = con.execute(
            "SELECT DISTINCT exc_type FROM attempts WHERE needless_termination "
            "AND exc_type IS NOT NULL ORDER BY 1"
        ).fetchall()
        assert needless, "the S001 cases have needless terminations"
        exc_type = needless[0][0]
        pattern = "^" + exc_type.replace(".", r"\.") + "$"
        config = Config(
            error_patterns=[{"error_class": "gpu_fault", "field": "exc_type", "pattern": pattern}]
        )
        res = analyze(con, config)
        assert res.replayed  # the patterns are part of what the replay depends on
        s001 = [f for f in res.findings if f.code == "S001"]
        classes = con.execute(
            "SELECT DISTINCT error_class, needless_termination FROM attempts WHERE exc_type = ?",
            [exc_type],
        ).fetchall()
        assert classes == [("gpu_fault", False)]
        back = analyze(con)  # and without the pattern, as before
        assert back.replayed
        assert len([f for f in back.findings if f.code == "S001"]) > len(s001)
        assert con.execute(
            "SELECT bool_and(needless_termination) FROM attempts WHERE exc_type = ?", [exc_type]
        ).fetchone() == (True,)
    finally:
        con.close()
