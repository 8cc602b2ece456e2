"""A structural check of SARIF 2.1.0 documents (the parts code scanning relies on).

A JSON Schema subset of the OASIS schema (required properties, types, enums) validated with
``jsonschema``, plus the cross-references a schema cannot express (ruleId/ruleIndex pointing at
the driver's rules, absolute helpUri).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import jsonschema

_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_PHYSICAL = {
    "type": "object",
    "required": ["artifactLocation"],
    "properties": {
        "artifactLocation": {
            "type": "object",
            "required": ["uri"],
            "properties": {"uri": {"type": "string"}},
        },
        "region": {
            "type": "object",
            "properties": {"startLine": {"type": "integer", "minimum": 1}},
        },
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "helpUri"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "name": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "fullDescription": _MESSAGE,
                                                "helpUri": {"type": "string"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": [
                                                                "none",
                                                                "note",
                                                                "warning",
                                                                "error",
                                                            ]
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": _MESSAGE,
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {"physicalLocation": _PHYSICAL},
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def check_sarif(doc: dict[str, Any]) -> None:
    """Raise AssertionError / ValidationError when ``doc`` is not well-formed SARIF 2.1.0."""
    jsonschema.validate(doc, SCHEMA)
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "duplicate rule ids"
        for r in rules:
            uri = urlparse(r["helpUri"])
            assert uri.scheme and "#" in r["helpUri"], f"helpUri not absolute: {r['helpUri']}"
        for res in run["results"]:
            assert res["ruleId"] in ids, res["ruleId"]
            if "ruleIndex" in res:
                assert ids[res["ruleIndex"]] == res["ruleId"]
            assert res["locations"], "a result without a location"
