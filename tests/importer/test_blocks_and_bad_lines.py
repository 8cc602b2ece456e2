"""The fast path and the bad-line pass over many blocks and segments.

The importer inserts the good lines of a whole segment in one statement, then reads again
only the blocks that came up short to store their bad lines with reasons. These tests make
the blocks tiny so that a small file spans many blocks and segments, and check that every
line ends up exactly once in ``events`` or ``rejected``, with the right line number, for
plain, compressed and appended files.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from analyzer.importers import import_paths, native
from tests.importer.importer_helpers import TS, fresh, rows, sample_event

BAD = {
    "not JSON": "{not json at all",
    "not an object": "[1, 2, 3]",
    "missing ts": json.dumps({"source": "gateway", "event": "log"}),
    "invalid ts": json.dumps({"ts": "yesterday", "source": "gateway", "event": "log"}),
    "unknown source": json.dumps({"ts": TS, "source": "client", "event": "log"}),
    'wrong type for status: "abc"': json.dumps(
        {"ts": TS, "source": "gateway", "event": "attempt.finished", "status": "abc"}
    ),
}


def _good(i: int) -> str:
    return json.dumps(sample_event("log", message=f"line {i}", request_id=f"req-{i}"))


def _mixed(n: int, every: int = 7) -> tuple[list[str], dict[int, str]]:
    """``n`` lines; every ``every``-th one broken (cycling through the kinds), a few blank."""
    lines: list[str] = []
    bad: dict[int, str] = {}
    kinds = list(BAD.items())
    for i in range(1, n + 1):
        if i % every == 0:
            reason, text = kinds[(i // every) % len(kinds)]
            lines.append(text)
            bad[i] = reason
        elif i % 23 == 0:
            lines.append("   ")
        else:
            lines.append(_good(i))
    return lines, bad


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "CHUNK_BYTES", 1_500)  # a handful of lines per block
    monkeypatch.setattr(native, "SEGMENT_CHUNKS", 3)  # and per INSERT statement


def _check(con: object, lines: list[str], bad: dict[int, str]) -> None:
    blank = {i for i, t in enumerate(lines, 1) if not t.strip()}
    good = [i for i in range(1, len(lines) + 1) if i not in bad and i not in blank]
    got_events = [r[0] for r in rows(con, "SELECT line_no FROM events ORDER BY line_no")]  # type: ignore[arg-type]
    assert got_events == good
    got_bad = rows(con, "SELECT line_no, reason FROM rejected ORDER BY line_no")  # type: ignore[arg-type]
    assert got_bad == sorted(bad.items())
    # every good line kept its own content
    msgs = rows(con, "SELECT line_no, message FROM events ORDER BY line_no")  # type: ignore[arg-type]
    assert all(m == f"line {n}" for n, m in msgs)


@pytest.mark.usefixtures("tiny_blocks")
def test_plain_file_over_many_blocks_and_segments(tmp_path: Path) -> None:
    lines, bad = _mixed(400)
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 40 * 1_500  # dozens of blocks, many segments
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    _check(con, lines, bad)
    assert (summary.events, summary.rejected, summary.lines) == (
        400 - len(bad) - sum(1 for t in lines if not t.strip()),
        len(bad),
        400,
    )
    # the raw text of a rejected line is the line itself
    assert rows(con, "SELECT raw FROM rejected WHERE line_no = 7") == [(lines[6],)]


@pytest.mark.usefixtures("tiny_blocks")
def test_gzip_file_bad_lines_found_by_decompressing_again(tmp_path: Path) -> None:
    lines, bad = _mixed(300, every=11)
    path = tmp_path / "many.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    con = fresh(tmp_path)
    import_paths(con, [path])
    _check(con, lines, bad)


@pytest.mark.usefixtures("tiny_blocks")
def test_appended_lines_with_bad_ones(tmp_path: Path) -> None:
    lines, bad = _mixed(300, every=13)
    path = tmp_path / "grow.jsonl"
    path.write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")
    con = fresh(tmp_path)
    import_paths(con, [path])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines[120:]) + "\n")
    summary = import_paths(con, [path])
    assert summary.files[0].status == "appended"
    _check(con, lines, bad)


@pytest.mark.usefixtures("tiny_blocks")
def test_appended_gzip_with_bad_lines_skips_what_was_imported(tmp_path: Path) -> None:
    lines, bad = _mixed(200, every=9)
    path = tmp_path / "grow.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines[:90]) + "\n")
    con = fresh(tmp_path)
    import_paths(con, [path])
    with gzip.open(path, "at", encoding="utf-8") as fh:  # a second gzip member
        fh.write("\n".join(lines[90:]) + "\n")
    summary = import_paths(con, [path])
    assert summary.files[0].status == "appended"
    _check(con, lines, bad)


@pytest.mark.usefixtures("tiny_blocks")
def test_line_longer_than_a_block_and_no_final_newline(tmp_path: Path) -> None:
    long_event = sample_event("log", message="x" * 5_000)  # over three blocks long
    lines = [_good(1), json.dumps(long_event), "{broken", _good(4)]
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline at the end
    con = fresh(tmp_path)
    import_paths(con, [path])
    assert rows(con, "SELECT line_no, length(message) FROM events ORDER BY 1") == [
        (1, 6),
        (2, 5_000),
        (4, 6),
    ]
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(3, "not JSON")]


@pytest.mark.usefixtures("tiny_blocks")
def test_bom_then_a_bad_first_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + b"nope\n" + "\n".join(_good(i) for i in range(2, 40)).encode()
    )
    con = fresh(tmp_path)
    import_paths(con, [path])
    assert rows(con, "SELECT line_no, raw, reason FROM rejected") == [(1, "nope", "not JSON")]
    assert rows(con, "SELECT count(*), min(line_no) FROM events") == [(38, 2)]


def test_a_file_of_nothing_but_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "text.jsonl"
    path.write_text("".join(f"plain text line {i}\n" for i in range(1, 2_001)), encoding="utf-8")
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected) == (0, 2_000)
    assert rows(
        con, "SELECT count(DISTINCT line_no), min(line_no), max(line_no) FROM rejected"
    ) == [(2_000, 1, 2_000)]


@pytest.mark.usefixtures("tiny_blocks")
def test_a_read_error_mid_stream_stops_the_reader_and_the_next_import_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from analyzer.errors import InputUnreadableError
    from analyzer.importers.lines import LineReader

    class FailingReader(LineReader):
        reads = 0

        def _fill(self, view: memoryview) -> int:
            FailingReader.reads += 1
            if FailingReader.reads == 25:
                raise OSError("disk on fire")
            return super()._fill(view)

    lines, bad = _mixed(400)
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(native, "LineReader", FailingReader)
    con = fresh(tmp_path)
    with pytest.raises(InputUnreadableError, match="disk on fire"):
        import_paths(con, [path])
    committed = rows(con, "SELECT count(*) FROM events")[0][0]
    assert 0 < committed < 400  # the segments before the error were committed
    readers = [t for t in threading.enumerate() if t.name == "analyzer-read-ahead"]
    for t in readers:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in readers)  # the read-ahead thread stopped
    monkeypatch.setattr(native, "LineReader", LineReader)
    summary = import_paths(con, [path])  # resumes after the last commit
    assert summary.files[0].status == "appended"
    _check(con, lines, bad)


@pytest.mark.usefixtures("tiny_blocks")
def test_several_files_in_one_statement_keep_their_own_lines_and_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain native files are imported together (one INSERT): each line keeps its file, its
    line number and its import; bad lines are found per file; ids stay unique."""
    from analyzer.importers import native_many

    calls = {"n": 0}
    real = native_many.import_many

    def spy(con: object, jobs: list[native_many.FileJob]) -> object:
        calls["n"] += 1
        return real(con, jobs)  # type: ignore[arg-type]

    monkeypatch.setattr(native_many, "import_many", spy)
    made = {}
    for name, n, every in (("a.jsonl", 120, 7), ("b.jsonl", 90, 11), ("c.jsonl", 150, 13)):
        lines, bad = _mixed(n, every)
        (tmp_path / "logs").mkdir(exist_ok=True)
        path = tmp_path / "logs" / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        made[str(path)] = (lines, bad)
    con = fresh(tmp_path)
    summary = import_paths(con, [tmp_path / "logs"])
    assert calls["n"] == 1  # the three files went through one statement
    for f in summary.files:
        lines, bad = made[f.path]
        blank = {i for i, t in enumerate(lines, 1) if not t.strip()}
        good = [i for i in range(1, len(lines) + 1) if i not in bad and i not in blank]
        got = [
            r[0]
            for r in rows(con, "SELECT line_no FROM events WHERE file = ? ORDER BY 1", [f.path])
        ]
        assert got == good
        assert rows(
            con, "SELECT line_no, reason FROM rejected WHERE file = ? ORDER BY 1", [f.path]
        ) == sorted(bad.items())
        assert (f.events, f.rejected, f.lines) == (len(good), len(bad), len(lines))
        assert rows(
            con, "SELECT count(DISTINCT import_id) FROM events WHERE file = ?", [f.path]
        ) == [(1,)]
    assert rows(con, "SELECT count(*) = count(DISTINCT event_id) FROM events") == [(True,)]
    assert rows(con, "SELECT count(*) FROM imports") == [(3,)]
    # grow one file, leave the others: only its new lines, the others unchanged
    lines, bad = made[str(tmp_path / "logs" / "b.jsonl")]
    extra = [_good(1000 + i) for i in range(5)]
    with (tmp_path / "logs" / "b.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(extra) + "\n")
    again = import_paths(con, [tmp_path / "logs"])
    assert sorted(f.status for f in again.files) == ["appended", "unchanged", "unchanged"]
    assert again.events == 5
    assert rows(con, "SELECT count(*) = count(DISTINCT event_id) FROM events") == [(True,)]


def test_a_file_that_cannot_be_read_fails_alone_after_the_files_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analyzer.errors import InputUnreadableError
    from analyzer.importers import native_many
    from analyzer.importers.lines import LineReader

    class Unreadable(LineReader):
        def _fill(self, view: memoryview) -> int:
            if str(getattr(self.stream, "name", "")).endswith("b.jsonl"):
                raise OSError("bad sector")
            return super()._fill(view)

    monkeypatch.setattr(native_many, "LineReader", Unreadable)
    monkeypatch.setattr(native, "LineReader", Unreadable)
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        (folder / name).write_text("\n".join(_good(i) for i in range(1, 21)) + "\n")
    con = fresh(tmp_path)
    with pytest.raises(InputUnreadableError, match=r"b\.jsonl.*bad sector"):
        import_paths(con, [folder])
    assert rows(con, "SELECT file, count(*) FROM events GROUP BY 1") == [
        (str(folder / "a.jsonl"), 20)
    ]
    assert rows(con, "SELECT count(*) FROM imports") == [(1,)]


def test_replacing_the_last_imported_file_in_a_batch_keeps_import_ids_unique(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_good(1) + "\n")
    (folder / "b.jsonl").write_text(_good(2) + "\n")
    con = fresh(tmp_path)
    import_paths(con, [folder])
    (folder / "a0.jsonl").write_text(_good(3) + "\n")  # a new file, planned first
    (folder / "b.jsonl").write_text(_good(4) + "\n" + _good(5) + "\n")  # rewritten: replaced
    summary = import_paths(con, [folder])
    assert sorted(f.status for f in summary.files) == ["imported", "replaced", "unchanged"]
    assert rows(con, "SELECT count(*), count(DISTINCT import_id) FROM imports") == [(3, 3)]
    # every event's import is its own file's
    assert rows(
        con,
        "SELECT count(*) FROM events e JOIN imports i USING (import_id) WHERE i.path <> e.file",
    ) == [(0,)]
    assert rows(con, "SELECT file, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        (str(folder / "a.jsonl"), 1),
        (str(folder / "a0.jsonl"), 1),
        (str(folder / "b.jsonl"), 2),
    ]
