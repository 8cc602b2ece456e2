"""The progress bar (terminal only) and the one-screen summary."""

from __future__ import annotations

import io
from pathlib import Path

from importer_helpers import fresh, sample_event, write_lines

from analyzer.importers import import_paths
from analyzer.importers.summary import FileResult, ImportSummary, RejectedLine
from analyzer.progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [sample_event("runner.ready")] * 20)
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        import_paths(fresh(tmp_path, f"{id(stream)}.duckdb"), [path],
                     progress=Progress(path.stat().st_size, stream=stream))  # fmt: skip
    assert "a.jsonl" in tty.getvalue() and "%" in tty.getvalue()
    assert tty.getvalue().endswith("\r")  # the bar is cleared at the end
    assert pipe.getvalue() == ""


def test_summary_render_and_dict() -> None:
    summary = ImportSummary(
        files=[
            FileResult(path="/x/a.jsonl", format="native", events=1000, rejected=7,
                       naive_timestamps=3, unknown_events=2,
                       first_rejected=[RejectedLine("/x/a.jsonl", n, "not JSON")
                                       for n in range(1, 6)]),
            FileResult(path="/x/b.jsonl", format="native", status="unchanged"),
        ],
        seconds=2.0,
    )  # fmt: skip
    text = summary.render(Path("/x"))
    assert text.splitlines()[0] == "imported 2 files, 1 unchanged"
    assert "events                   1,000" in text
    assert "a.jsonl:1: not JSON" in text and "... 2 more" in text
    assert "(500 events/s)" in text
    assert len(text.splitlines()) <= 24  # one screen
    data = summary.as_dict()
    assert data["events"] == 1000 and data["rejected"] == 7 and data["files_unchanged"] == 1
    assert data["first_rejected"][0] == {"file": "/x/a.jsonl", "line": 1, "reason": "not JSON"}
