"""No stored value crashes a face: a database already holding year 58857, year 1, infinity
and -infinity (written by an older version, or by hand) still serves every dashboard page,
`analyzer timeline` and the API; the bad times read as unknown (NULL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analyzer.api import open_db
from analyzer.cli import main
from analyzer.safe_times import guard_times
from analyzer.ui.navigation import PAGES

SCRIPT = "from analyzer.ui.navigation import run\nrun(default={page!r})\n"
BAD = ("58857-02-04 13:11:21+00", "0001-01-01 00:00:00+00", "infinity", "-infinity")


def _poison(path: Path) -> str:
    """Write out-of-range times into events and into every time column of every table;
    the id of a request whose events now carry them."""
    con = duckdb.connect(str(path))
    try:
        rid = con.execute(
            "SELECT request_id FROM requests WHERE attempts > 1 ORDER BY request_id LIMIT 1"
        ).fetchall()[0][0]
        ids = [
            r[0]
            for r in con.execute(
                "SELECT event_id FROM events WHERE request_id = ? ORDER BY event_id", [rid]
            ).fetchall()
        ]
        for i, event_id in enumerate(ids):
            con.execute(
                "UPDATE events SET ts = ?::TIMESTAMPTZ WHERE event_id = ?",
                [BAD[i % len(BAD)], event_id],
            )
        columns = con.execute(
            "SELECT c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
            "USING (database_name, schema_name, table_name) "
            "WHERE c.data_type LIKE 'TIMESTAMP%' AND c.table_name <> 'events'"
        ).fetchall()
        assert columns, "the replay tables hold times"
        for n, (table, column) in enumerate(columns):
            con.execute(
                f'UPDATE "{table}" SET "{column}" = ?::TIMESTAMPTZ '
                f'WHERE rowid IN (SELECT rowid FROM "{table}" LIMIT 3)',
                [BAD[n % len(BAD)]],
            )
    finally:
        con.close()
    return str(rid)


@pytest.fixture(scope="module")
def poisoned(sample_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("poison") / "p.duckdb"
    shutil.copy(sample_db_path, path)
    return path, _poison(path)


def test_the_poison_is_there_and_is_shadowed(poisoned: tuple[Path, str]) -> None:
    path, _ = poisoned
    con = duckdb.connect(str(path), read_only=True)
    bad = "isinf(ts) OR year(ts) > 9999 OR year(ts) < 2"
    assert con.execute(f"SELECT count(*) FROM events WHERE {bad}").fetchall()[0][0] > 0
    shadowed = guard_times(con)
    assert "events" in shadowed and len(shadowed) > 1
    assert con.execute(f"SELECT count(*) FROM events WHERE {bad}").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM events WHERE ts IS NULL").fetchall()[0][0] > 0


@pytest.mark.parametrize("page", [p.key for p in PAGES])
def test_every_page_renders(
    page: str, poisoned: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, rid = poisoned
    monkeypatch.setenv("ANALYZER_DB", str(path))
    at = AppTest.from_string(SCRIPT.format(page=page), default_timeout=90)
    if page == "timeline":
        at.query_params["request"] = rid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_timeline_command(poisoned: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, rid = poisoned
    assert main(["timeline", rid, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert rid in out and "?" in out  # the unknown times are shown as unknown
    assert main(["timeline", rid, "--db", str(path), "--format", "json"]) == 0
    assert '"ts": null' in capsys.readouterr().out


def test_api(poisoned: tuple[Path, str]) -> None:
    path, rid = poisoned
    a = open_db(path)
    try:
        summary = a.summary()
        assert summary["requests"] > 0
        assert len(a.timeline(rid)) > 0
        assert len(a.findings()) > 0
        assert len(a.requests()) > 0 and len(a.runners()) > 0
        for figure in (
            a.timeline_figure(rid),
            a.runners_figure(),
            a.findings_over_time_figure(),
            a.requests_over_time_figure(),
            a.terminations_over_time_figure(),
        ):
            figure.to_json()  # what a notebook renders
    finally:
        a.close()
