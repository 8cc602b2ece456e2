"""Seeded quick fuzz over every hostile line kind of issue 17: each line is accounted for
(lines with events + rejected + blank = lines, per file) and no import ends in a traceback."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
from importer_helpers import sample_event

from analyzer.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "formats" / "fixtures"
SEEDS = (1, 2, 3)
SECRET = "hunter2SECRETzz9"


def _native_line(rng: random.Random) -> bytes:
    base: dict[str, Any] = sample_event(rng.choice(["log", "request.received", "handler.error"]))
    kind = rng.randrange(24)
    if kind == 0:
        base["ts"] = rng.choice([1795183391482, 1795183391482000, 1795183391482000000, 1.8e9])
    elif kind == 1:
        base["ts"] = rng.choice(["NaN", "Infinity", "-infinity", 1e300, 1e20, 0, -5, 1e18])
    elif kind == 2:
        base["ts"] = rng.choice(["2026-11-20T10:00:00+99:99", "58857-01-01T00:00:00Z", "0000"])
    elif kind == 3:
        base["message"] = "m" * rng.choice([10_000, 100_000])
    elif kind == 4:
        base.update({f"k{j}": j for j in range(50)})
    elif kind == 5:
        depth = rng.choice([100, 1000])
        return (json.dumps(base)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}").encode()
    elif kind == 6:
        base[rng.choice(["attempt", "status", "deadline_s", "no_retry"])] = rng.choice(
            [99999999999, 1e40, "abc", {"api_key": SECRET}, [1, 2], True, -1, 1e300]
        )
    elif kind == 7:
        base["message"] = rng.choice(
            [
                f"Authorization: Bearer {SECRET}",
                f"postgres://u:{SECRET}@db/x",
                f"PASSWORD={SECRET}",
                json.dumps({"password": SECRET}),
            ]
        )
    elif kind == 8:
        base["headers"] = [{"name": "Authorization", "value": f"Basic {SECRET}"}]
    elif kind == 9:
        return rng.choice([b"not json {", b"[1, 2]", b"null", b'"x"', b"{", b"}", b"{}"])
    elif kind == 10:
        return json.dumps(base).encode()[: rng.randrange(1, 40)]  # cut short
    elif kind == 11:
        return json.dumps(base).encode().replace(b"gateway", b"gat\xff\xfeway")
    elif kind == 12:
        return rng.choice([b"", b"   ", b"\t", b"\r"])  # blank
    elif kind == 13:
        base.pop(rng.choice(["ts", "source", "event"]))
    elif kind == 14:
        base["source"] = rng.choice(["platform", 5, None, ""])
    elif kind == 15:
        return json.dumps(base).encode() + b"\r"  # CRLF
    elif kind == 16:
        base["ts"] = rng.choice(["", " ", "2026-13-45T99:99:99Z", "yesterday", True, None])
    elif kind == 17:
        base["event"] = rng.choice(["", "x" * 1000, "\u202e\u0001", None, 7])
    elif kind == 18:
        return ("\ufeff" + json.dumps(base)).encode()  # a BOM inside the file
    elif kind == 19:
        return json.dumps(base, ensure_ascii=False).encode() + b" " + json.dumps(base).encode()
    return json.dumps(base).encode()


def _mutate(line: str, rng: random.Random) -> str:
    """A foreign access-log line with one field replaced by something hostile."""
    fields = line.split(" ")
    i = rng.randrange(len(fields))
    fields[i] = rng.choice(
        ["1e20", "99999999999", "-", '"', "inf", "NaN", "\x00", "9" * 30, "", "[", "1e300"]
    )
    return " ".join(fields)


def _accounted(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        with_events = con.execute("SELECT count(DISTINCT line_no) FROM events").fetchall()[0][0]
        rejected = con.execute("SELECT count(*) FROM rejected").fetchall()[0][0]
    finally:
        con.close()
    return int(with_events), int(rejected)


def _blank(lines: list[bytes]) -> int:
    return sum(1 for x in lines if not x.strip())


@pytest.mark.parametrize("seed", SEEDS)
def test_native_fuzz(seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    lines = [_native_line(rng) for _ in range(300)]
    log = tmp_path / "fuzz.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "f.duckdb"
    assert main(["import", str(log), "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and SECRET not in out.out
    with_events, rejected = _accounted(db)
    assert with_events + rejected + _blank(lines) == len(lines)
    con = duckdb.connect(str(db), read_only=True)
    stored = json.dumps(con.execute("SELECT * FROM rejected").fetchall(), default=str)
    stored += json.dumps(con.execute("SELECT message, extra FROM events").fetchall())
    con.close()
    assert SECRET not in stored


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fixture", ["nginx_access.log", "envoy_access.log"])
def test_access_log_fuzz(
    seed: int, fixture: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(seed)
    good = [x for x in (FIXTURES / fixture).read_text().splitlines() if x.strip()]
    lines = [_mutate(rng.choice(good), rng) if rng.random() < 0.7 else good[0] for _ in range(80)]
    log = tmp_path / fixture
    log.write_text("\n".join(good[:2] + lines) + "\n", encoding="utf-8")  # detectable head
    db = tmp_path / "a.duckdb"
    assert main(["import", str(log), "--db", str(db)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    raw = log.read_bytes().split(b"\n")[:-1]
    with_events, rejected = _accounted(db)
    assert with_events + rejected + _blank(raw) == len(raw)
