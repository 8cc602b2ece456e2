"""Secrets never land in the database: events, extra and rejected lines are all redacted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from importer_helpers import fresh, rows, sample_event, write_lines

from analyzer.importers import import_paths
from analyzer.importers.redact import redact_text
from analyzer.importers.rows import insert_rejected, insert_rows
from analyzer.importers.summary import FileResult

SECRETS = ("sk-live-123456789", "abcd1234-ef56:0123456789abcdef", "hunter2pass", "eyJhbGciOi.J9")


def test_credentials_redacted_everywhere(tmp_path: Path) -> None:
    line = {
        **sample_event("handler.error"),
        "message": "upstream said 401 for Authorization: Bearer eyJhbGciOi.J9 "
        "and Key abcd1234-ef56:0123456789abcdef (url ?api_key=sk-live-123456789&x=1)",
        "headers": {"Authorization": "Key abcd1234-ef56:0123456789abcdef", "x-fal-key": "k1",
                    "Cookie": "session=hunter2pass", "accept": "json"},
        "db": {"password": "hunter2pass", "user": "app"},
        "api_key": "sk-live-123456789",
        "max_tokens": 512,
        "secret": ["hunter2pass"],
    }  # fmt: skip
    broken = '{"ts": "later", "source": "gateway", "event": "log", "password": "hunter2pass"}'
    path = write_lines(tmp_path / "s.jsonl", [line, broken])
    con = fresh(tmp_path)
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected) == (1, 1)
    message, extra = rows(con, "SELECT message, extra FROM events")[0]
    (raw,) = rows(con, "SELECT raw FROM rejected")[0]
    everything = json.dumps(rows(con, "SELECT * REPLACE (ts::VARCHAR AS ts) FROM events")) + raw
    for secret in SECRETS:
        assert secret not in everything
    assert "Bearer [REDACTED]" in message and "Key [REDACTED]" in message
    assert "api_key=[REDACTED]" in message
    data = json.loads(extra)
    assert data["headers"] == {
        "Authorization": "[REDACTED]",
        "x-fal-key": "[REDACTED]",
        "Cookie": "[REDACTED]",
        "accept": "json",
    }
    assert data["db"] == {"password": "[REDACTED]", "user": "app"}
    assert data["api_key"] == "[REDACTED]" and data["secret"] == "[REDACTED]"
    assert data["max_tokens"] == 512  # not a credential
    assert json.loads(raw)["password"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("KeyError: 'prompt'", "KeyError: 'prompt'"),
        ("missing key prompt", "missing key prompt"),
        ('{"token_count": 12, "tokens": 3}', '{"token_count": 12, "tokens": 3}'),
        ("Bearer abc", "Bearer abc"),  # too short to be a token
    ],
)
def test_ordinary_text_is_kept(text: str, kept: str) -> None:
    assert redact_text(text) == kept


def test_mapped_rows_of_other_formats_are_redacted(tmp_path: Path) -> None:
    con = fresh(tmp_path)
    row = {
        "ts": datetime(2026, 11, 20, tzinfo=UTC),
        "source": "gateway",
        "event": "request.received",
        "request_id": "r1",
        "message": "Authorization: Bearer eyJhbGciOi.J9",
        "extra": {"labels": {"token": "sk-live-123456789"}},
        "line_no": 4,
    }
    result = insert_rows(con, [row], file="/x.json", import_id=7, origin="fal_logs")
    insert_rejected(
        con, [(9, '{"password": "hunter2pass"}', "not a record")], file="/x.json", import_id=7,
        result=result,
    )  # fmt: skip
    assert isinstance(result, FileResult) and (result.events, result.rejected) == (1, 1)
    got = rows(con, "SELECT message, extra, origin, file, line_no, import_id FROM events")
    assert got == [
        (
            "Authorization: Bearer [REDACTED]",
            '{"labels":{"token":"[REDACTED]"}}',
            "fal_logs",
            "/x.json",
            4,
            7,
        )
    ]
    assert rows(con, "SELECT raw FROM rejected") == [('{"password": "[REDACTED]"}',)]
