"""docs/log-format.md stays in step with analyzer/events.py."""

from __future__ import annotations

import re
from pathlib import Path

from analyzer.events import EVENT_MODELS, FIELD_TYPES, BaseEvent
from analyzer.importers import native_sql

DOC = Path(__file__).resolve().parents[2] / "docs" / "log-format.md"


def _sections(text: str) -> dict[str, str]:
    """Event name -> the text of its ``### `event` `` section."""
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_event_has_a_section_naming_its_fields() -> None:
    sections = _sections(DOC.read_text(encoding="utf-8"))
    base = set(BaseEvent.model_fields)
    for event, model in EVENT_MODELS.items():
        assert event in sections, f"docs/log-format.md has no section for {event}"
        own = [
            n for n in model.model_fields if n not in base or model.model_fields[n].is_required()
        ]
        for field in own:
            if field in ("ts", "source", "event"):
                continue
            assert f"`{field}`" in sections[event], f"{event}: field {field} not documented"


def test_every_known_field_and_reason_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for field in FIELD_TYPES:
        assert f"`{field}`" in text, field
    for reason in (
        native_sql.NOT_JSON,
        native_sql.NOT_OBJECT,
        native_sql.MISSING_TS,
        native_sql.INVALID_TS,
        native_sql.MISSING_SOURCE,
        native_sql.UNKNOWN_SOURCE,
        native_sql.MISSING_EVENT,
    ):
        assert f"`{reason}`" in text, reason
    assert "wrong type for status:" in text


def test_doc_examples_are_valid_lines() -> None:
    import json

    from analyzer.events import parse_event

    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        for line in block.strip().splitlines():
            parse_event(json.loads(line))
