"""Every shape of secret found by the adversarial test is redacted: at import (known fields,
unknown fields, rejected lines and their reasons), in the printed summary, and by the one
Python function :func:`analyzer.importers.redact.redact` (same rules as the SQL form)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from importer_helpers import fresh, rows, sample_event, write_lines

from analyzer.cli import main
from analyzer.importers import import_paths
from analyzer.importers.redact import REDACTED, is_secret_key, redact, redact_sql

S = "hunter2SECRETzz9"  # the secret in every shape
B64 = "aHVudGVyMlNFQ1JFVHp6OQ"  # base64-looking credential

# shapes inside a JSON value (put in a known field, an unknown field, and a rejected line)
VALUE_SHAPES: list[tuple[str, Any]] = [
    ("nested password", {"password": S}),
    ("nested deeper", {"db": {"conn": {"password": S}}}),
    ("camel authToken", {"authToken": S}),
    ("camel sessionToken", {"sessionToken": S}),
    ("camel userPassword", {"userPassword": S}),
    ("camel clientSecret", {"clientSecret": S}),
    ("kebab x-api-key", {"x-api-key": S}),
    ("x-fal-key", {"x-fal-key": f"id-123456:{S}"}),
    ("api_key number", {"api_key": 12345678901234}),
    ("secret list", {"secret": [S, "b"]}),
    ("credentials object", {"credentials": {"aws": {"id": S}, "note": "x"}}),
    ("otel header attribute", {"http.request.header.authorization": [f"Bearer {S}"]}),
    (
        "otel attribute list",
        [{"key": "http.request.header.x-api-key", "value": {"stringValue": S}}],
    ),
    (
        "otel array attribute",
        [
            {
                "key": "http.request.header.cookie",
                "value": {"arrayValue": {"values": [{"stringValue": f"s={S}"}]}},
            }
        ],
    ),
    ("name/value list", [{"name": "Authorization", "value": f"Basic {B64}"}]),
    ("value/name list", [{"value": S, "name": "X-Api-Key"}]),
    ("cookie header", {"Cookie": f"session={S}"}),
    ("set-cookie", {"set-cookie": f"sid={S}; HttpOnly"}),
    ("passwd", {"passwd": S}),
    ("pwd", {"db_pwd": S}),
    ("private key", {"private_key": S}),
    ("session id", {"sessionId": S}),
    ("refresh token", {"refresh_token": S}),
    ("json inside a string", json.dumps({"password": S, "user": "u"})),
    ("json inside a string, camel", json.dumps({"apiKey": S})),
]
TEXT_SHAPES: list[tuple[str, str]] = [
    ("bearer", f"Authorization: Bearer {S}"),
    ("bearer lower", f"got bearer {S} from client"),
    ("basic header", f"Authorization: Basic {B64}"),
    ("basic alone", f"sent Basic {B64}"),
    ("key scheme", f"Key abcd1234-ef56:{S}"),
    ("url user:password", f"connect postgres://app:{S}@db.internal:5432/app"),
    ("https user:password", f"fetch https://bob:{S}@example.com/x"),
    ("PASSWORD=", f"env PASSWORD={S} HOME=/root"),
    ("FAL_KEY=id:secret", f"FAL_KEY=0123abcd-1111:{S}"),
    ("OPENAI_API_KEY=", f"OPENAI_API_KEY=sk-{S}"),
    ("AWS_SECRET_ACCESS_KEY=", f"AWS_SECRET_ACCESS_KEY={S}"),
    ("client_secret:", f"client_secret: {S}"),
    ("token=", f"https://x.io/cb?token={S}&state=1"),
    ("api_key=", f"?api_key={S}"),
    ("password: quoted", f"password: '{S}'"),
    ("x-api-key header", f"X-Api-Key: {S}"),
    ("authToken=", f"authToken={S}"),
    ("json in free text", f'payload {{"secret": "{S}"}}'),
    ("escaped json in text", '{\\"password\\": \\"' + S + '\\"}'),
]
KEPT = [
    "KeyError: 'prompt'",
    "missing key prompt",
    '{"token_count": 12, "tokens": 3, "max_tokens": 5}',
    "Bearer abc",
    "basic usage of the model",
    "see https://example.com/a:b@c",
    "author: alice",
]

ALL_SHAPES = [(n, v) for n, v in VALUE_SHAPES] + [(n, t) for n, t in TEXT_SHAPES]


@pytest.mark.parametrize(("name", "value"), ALL_SHAPES, ids=[n for n, _ in ALL_SHAPES])
def test_redact_removes_every_shape(name: str, value: Any) -> None:
    as_text = value if isinstance(value, str) else json.dumps(value)
    assert S not in json.dumps(redact(value)), name
    assert S not in redact(as_text)
    sql = duckdb.connect().execute(f"SELECT {redact_sql('$t')}", {"t": as_text}).fetchall()
    assert sql[0][0] == redact(as_text)  # one set of rules, two forms
    if not isinstance(value, str):  # JSON text stays JSON
        json.loads(redact(as_text))


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_secret_key_names() -> None:
    for key in ("authToken", "userPassword", "http.request.header.authorization", "FAL_KEY"):
        assert is_secret_key(key)
    for key in ("max_tokens", "token_count", "author", "keys", "monkey"):
        assert not is_secret_key(key)


def test_import_stores_no_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str | dict[str, Any]] = []
    for _, value in VALUE_SHAPES:
        lines.append({**sample_event("handler.error"), "message": value})  # known field
        lines.append({**sample_event("handler.error"), "meta": value})  # unknown field
        lines.append({**sample_event("handler.error"), "attempt": value})  # wrong type
    for _, text in TEXT_SHAPES:
        lines.append({**sample_event("handler.error"), "message": text})
        lines.append({**sample_event("handler.error"), "note": text})
        lines.append({"ts": "not a time", "source": "gateway", "event": "x", "m": text})
        lines.append("not json at all: " + text)
    path = write_lines(tmp_path / "s.jsonl", lines)
    db = tmp_path / "a.duckdb"
    assert main(["import", str(path), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "wrong type for attempt" in printed and S not in printed
    con = duckdb.connect(str(db), read_only=True)
    everything = json.dumps(
        rows(con, "SELECT * REPLACE (ts::VARCHAR AS ts) FROM events")
        + rows(con, "SELECT * FROM rejected")
    )
    assert S not in everything
    assert B64 not in everything
    events, rejected = rows(con, "SELECT (SELECT count(*) FROM events), count(*) FROM rejected")[0]
    assert events + rejected == len(lines)
    assert REDACTED in everything


def test_api_summary_reasons_redacted(tmp_path: Path) -> None:
    line = {**sample_event("handler.error"), "attempt": {"api_key": S}}
    path = write_lines(tmp_path / "r.jsonl", [line])
    summary = import_paths(fresh(tmp_path), [path])
    text = json.dumps(summary.as_dict()) + summary.render()
    assert summary.rejected == 1 and "wrong type for attempt" in text and S not in text
