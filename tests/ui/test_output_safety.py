"""Output is never hijacked by log text (issue 17, point 7): terminal, JUnit, links, figures.

The hostile log (``hostile.py``) goes through the real pipeline (``analyzer import``, then
``check`` / ``timeline``); the browser side is in ``test_output_safety_browser.py``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import hostile
import pandas as pd
import pytest

from analyzer.api import figures
from analyzer.cli import main
from analyzer.textsafe import plotly_text, visible, xml_text
from analyzer.ui import widgets


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile.write(tmp_path_factory.mktemp("hostile") / "logs")


@pytest.fixture(scope="module")
def db(logs: Path) -> Path:
    path = logs.parent / "hostile.duckdb"
    assert main(["import", str(logs), "--db", str(path)]) == 0
    return path


def _raw(text: str) -> list[str]:
    return [repr(c) for c in hostile.ESCAPES if c in text]


def test_the_import_summary_shows_escapes_instead_of_obeying_them(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(logs), "--db", str(tmp_path / "x.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "bad-" in out and ": not JSON" in out, out  # the rejected line's file is named
    assert _raw(out) == [], out
    assert "␛]0;pwned␇[U+202E]" in out


def test_timeline_shows_escapes_instead_of_obeying_them(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["timeline", hostile.REQUEST, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "handler.error" in out and "desrever" in out, out
    assert _raw(out) == [], out
    assert "␛[2J" in out and "[U+202E]" in out


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_check_output_for_terminals(db: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", "--db", str(db), "--format", fmt]) == 1
    out = capsys.readouterr().out
    assert "S001" in out
    assert _raw(out) == [], out


def test_junit_is_well_formed_xml_with_control_characters(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["check", "--db", str(db), "--format", "junit"]) == 1
    out = capsys.readouterr().out
    root = ET.fromstring(out.encode())  # raises on a \u0001 (not XML 1.0)
    failures = root.findall(".//failure")
    assert len(failures) == 1
    message = failures[0].get("message") or ""
    assert message.startswith(visible(hostile.REQUEST)), message
    assert "␁" in message and "[U+202E]" in message


def test_open_links_are_url_encoded() -> None:
    df = pd.DataFrame({"request_id": [hostile.REQUEST, "req plain/1"]})
    links = widgets.timeline_link_column(df)["timeline"].tolist()
    for link, rid in zip(links, df["request_id"], strict=True):
        parts = urlsplit(link)
        assert parts.path == "timeline" and parts.fragment == "", link
        assert parse_qs(parts.query) == {"request": [rid]}, link
    assert widgets.shown(df)["request_id"][0] == visible(hostile.REQUEST)


def test_every_text_of_a_figure_is_escaped() -> None:
    runners = pd.DataFrame(
        {
            "app": ["<b>acme</b>"],
            "runner_id": [hostile.RUNNER],
            "started_at": [pd.Timestamp("2026-11-20T14:00:00Z")],
            "first_seen_at": [pd.Timestamp("2026-11-20T14:00:00Z")],
            "ready_at": [pd.Timestamp("2026-11-20T14:00:01Z")],
            "ended_at": [pd.Timestamp("2026-11-20T14:00:05Z")],
            "last_seen_at": [pd.Timestamp("2026-11-20T14:00:05Z")],
            "end_kind": ["terminated"],
            "end_reason": ['<a href="https://evil.example/">status_503</a>'],
            "killed_by_request_id": [hostile.REQUEST],
        }
    )
    fig = figures.runners_figure(runners)
    text = fig.to_json()
    for raw in ("<a href", "<span style", "<b>", "\\u202e"):
        assert raw not in text, raw
    assert fig.data[0].y[0] == "&lt;b&gt;acme&lt;/b&gt; · " + plotly_text(hostile.RUNNER)
    assert list(fig.layout.yaxis.categoryarray) == [fig.data[0].y[0]]  # order still matches
    assert "%{customdata[0]}" in text  # the templates (ours) are left alone


def test_xml_text_keeps_only_what_xml_holds() -> None:
    s = xml_text("a\u0001b\ufffec\ud800d\te\nf")
    ET.fromstring(f"<x a='{s}'>{s}</x>".encode("utf-8", "surrogatepass"))
    assert s == "a␁b[U+FFFE]c[U+D800]d\te\nf"
