"""Which files get imported, compressed files, and idempotent / incremental re-imports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import zstandard
from importer_helpers import fresh, rows, sample_event, write_lines

from analyzer.errors import InputNotFoundError, InputUnreadableError
from analyzer.importers import import_paths
from analyzer.importers.paths import expand_paths


def _lines(n: int, start: int = 0) -> list[str | dict[str, object]]:
    return [sample_event("handler.started", request_id=f"r{start + i}") for i in range(n)]


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".ndjson.zst"])
def test_compressed_files(tmp_path: Path, suffix: str) -> None:
    text = "\n".join(json.dumps(x) for x in _lines(5)) + "\n\nnot json\n"
    path = tmp_path / f"log{suffix}"
    data = text.encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else zstandard.compress(data))
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected, summary.lines) == (5, 1, 7)
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(7, "not JSON")]
    again = import_paths(con, [path])
    assert again.events == 0 and again.files[0].status == "unchanged"


def test_directory_recursive_skips_underscore_and_dot_names(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    (root / "gateway").mkdir(parents=True)
    (root / "runners" / "r1").mkdir(parents=True)
    (root / "_private").mkdir()
    (root / ".cache").mkdir()
    write_lines(root / "gateway" / "gw.jsonl", _lines(2))
    write_lines(root / "runners" / "r1" / "r1.ndjson", _lines(3))
    (root / "runners" / "r2.jsonl.gz").write_bytes(gzip.compress(json.dumps(_lines(1)[0]).encode()))
    write_lines(root / "_ground_truth.jsonl", [{"code": "S001"}])
    write_lines(root / "_private" / "x.jsonl", _lines(1))
    write_lines(root / ".cache" / "y.jsonl", _lines(1))
    write_lines(root / ".hidden.jsonl", _lines(1))
    (root / "README.md").write_text("# not a log\n")
    found = [p.relative_to(root.resolve()).as_posix() for p in expand_paths([root])]
    assert found == ["gateway/gw.jsonl", "runners/r2.jsonl.gz", "runners/r1/r1.ndjson"]
    con = fresh(tmp_path)
    summary = import_paths(con, [root])
    assert summary.events == 6 and summary.rejected == 0 and len(summary.files) == 3


def test_glob_and_duplicates(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl", "c.txt"):
        write_lines(tmp_path / name, _lines(2))
    con = fresh(tmp_path)
    summary = import_paths(con, [str(tmp_path / "*.jsonl"), tmp_path / "a.jsonl"])
    assert [Path(f.path).name for f in summary.files] == ["a.jsonl", "b.jsonl"]
    assert summary.events == 4


def test_missing_paths_raise_before_importing(tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.jsonl", _lines(1))
    con = fresh(tmp_path)
    with pytest.raises(InputNotFoundError, match="no such file"):
        import_paths(con, [good, tmp_path / "missing.jsonl"])
    with pytest.raises(InputNotFoundError, match="no file matches"):
        import_paths(con, [str(tmp_path / "nothing-*.jsonl")])
    assert rows(con, "SELECT count(*) FROM events") == [(0,)]


def test_corrupt_gzip_is_unreadable_and_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(json.dumps(x).encode() for x in _lines(50)))[:-30])
    con = fresh(tmp_path)
    with pytest.raises(InputUnreadableError, match=r"broken\.jsonl\.gz"):
        import_paths(con, [path])
    assert rows(con, "SELECT count(*) FROM events") == [(0,)]
    assert rows(con, "SELECT count(*) FROM imports") == [(0,)]


def test_reimport_adds_nothing(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [*_lines(3), "bad line"])
    con = fresh(tmp_path)
    first = import_paths(con, [path])
    second = import_paths(con, [path])
    assert (first.events, first.rejected) == (3, 1)
    assert (second.events, second.rejected, second.files[0].status) == (0, 0, "unchanged")
    assert rows(con, "SELECT count(*) FROM events") == [(3,)]
    assert rows(con, "SELECT count(*) FROM rejected") == [(1,)]
    assert rows(con, "SELECT count(*) FROM imports") == [(1,)]


def test_appended_file_imports_only_new_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "grow.jsonl", [*_lines(3), ""])
    con = fresh(tmp_path)
    import_paths(con, [path])
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(_lines(1, start=3)[0]) + "\nnot json\n")
        fh.write(json.dumps(_lines(1, start=4)[0]) + "\n")
    summary = import_paths(con, [path])
    (result,) = summary.files
    assert (result.status, result.first_line, result.lines) == ("appended", 5, 3)
    assert (summary.events, summary.rejected) == (2, 1)
    assert rows(con, "SELECT line_no, request_id FROM events ORDER BY line_no") == [
        (1, "r0"), (2, "r1"), (3, "r2"), (5, "r3"), (7, "r4"),
    ]  # fmt: skip
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(6, "not JSON")]
    assert rows(con, "SELECT count(DISTINCT event_id) FROM events") == [(5,)]
    assert rows(con, "SELECT first_line, lines FROM imports ORDER BY import_id") == [
        (1, 4), (5, 3),
    ]  # fmt: skip
    assert import_paths(con, [path]).files[0].status == "unchanged"


def test_appended_gzip_member(tmp_path: Path) -> None:
    path = tmp_path / "grow.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(json.dumps(x) for x in _lines(2)) + "\n").encode()))
    con = fresh(tmp_path)
    import_paths(con, [path])
    with path.open("ab") as fh:  # a second gzip member: still one valid .gz stream
        fh.write(gzip.compress((json.dumps(_lines(1, start=2)[0]) + "\n").encode()))
    summary = import_paths(con, [path])
    assert summary.files[0].status == "appended" and summary.events == 1
    assert rows(con, "SELECT line_no, request_id FROM events ORDER BY 1") == [
        (1, "r0"), (2, "r1"), (3, "r2"),
    ]  # fmt: skip


def test_changed_file_is_replaced(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "rot.jsonl", _lines(4))
    con = fresh(tmp_path)
    import_paths(con, [path])
    write_lines(path, _lines(2, start=10))  # rewritten (rotated): not an append
    summary = import_paths(con, [path])
    assert summary.files[0].status == "replaced" and summary.events == 2
    assert rows(con, "SELECT line_no, request_id FROM events ORDER BY 1") == [
        (1, "r10"), (2, "r11"),
    ]  # fmt: skip
    assert rows(con, "SELECT count(*) FROM imports") == [(1,)]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected, summary.lines) == (0, 0, 0)
    assert import_paths(con, [path]).files[0].status == "unchanged"


def test_long_import_commits_progress_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analyzer.importers import native

    monkeypatch.setattr(native, "CHUNK_BYTES", 2_000)  # ~8 lines per chunk
    monkeypatch.setattr(native, "SEGMENT_CHUNKS", 2)  # one INSERT and commit per 2 chunks
    path = write_lines(tmp_path / "long.jsonl", [*_lines(60), "bad", *_lines(40, start=60)])
    con = fresh(tmp_path)
    calls = {"n": 0}
    real = native._insert_segment

    def failing(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 6:
            raise OSError("disk on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(native, "_insert_segment", failing)
    with pytest.raises(InputUnreadableError, match="disk on fire"):
        import_paths(con, [path])
    (committed,) = rows(con, "SELECT count(*) FROM events")[0]
    assert 0 < committed < 100  # the checkpoints before the failure are kept
    (size, lines) = rows(con, "SELECT size_bytes, lines FROM imports")[0]
    (bad,) = rows(con, "SELECT count(*) FROM rejected")[0]
    assert 0 < size < path.stat().st_size and lines == committed + bad

    monkeypatch.setattr(native, "_insert_segment", real)
    summary = import_paths(con, [path])  # resumes after the last checkpoint
    assert summary.files[0].status == "appended"
    assert rows(con, "SELECT count(*), count(DISTINCT line_no) FROM events") == [(100, 100)]
    assert rows(con, "SELECT line_no, reason FROM rejected") == [(61, "not JSON")]
    assert rows(con, "SELECT max(line_no) FROM events") == [(101,)]
    assert import_paths(con, [path]).files[0].status == "unchanged"


@pytest.mark.parametrize(
    "partial",
    [
        '{"ts": 1795176000, "source": "gate',
        '{"ts": 1795176000, "source": "gateway", "event": "log"}',
    ],
)
def test_a_line_still_being_written_is_read_again_whole(tmp_path: Path, partial: str) -> None:
    """Imported while a writer was in the middle of its last line: when the file grows, that
    line is read again, whole, with the same line number, and nothing is duplicated."""
    path = tmp_path / "live.jsonl"
    first = json.dumps(_lines(1)[0])
    path.write_text(first + "\n" + partial, encoding="utf-8")  # no newline after the last line
    con = fresh(tmp_path)
    import_paths(con, [path])
    whole = '{"ts": 1795176000, "source": "gateway", "event": "log"}'
    with path.open("a", encoding="utf-8") as fh:
        fh.write(whole[len(partial) :] + "\n" + json.dumps(_lines(1)[0]) + "\n")
    summary = import_paths(con, [path])
    assert summary.files[0].status == "appended"
    assert rows(con, "SELECT line_no, event FROM events ORDER BY line_no") == [
        (1, _lines(1)[0]["event"]),
        (2, "log"),
        (3, _lines(1)[0]["event"]),
    ]
    assert rows(con, "SELECT count(*) FROM rejected") == [(0,)]
    assert import_paths(con, [path]).files[0].status == "unchanged"
