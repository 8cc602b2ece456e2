"""Helpers of the importer tests: valid sample events, files, a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import duckdb

from analyzer.events import EVENT_MODELS, BaseEvent, dumps
from analyzer.store import connect

REPO = Path(__file__).resolve().parents[2]


def run_analyzer(
    *args: str,
    cwd: Path | None = None,
    limit: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """``python -m analyzer ARGS`` in a child process running this checkout; ``limit`` runs in
    the child before it starts (resource limits), ``env`` adds variables."""
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        preexec_fn=limit,
        timeout=timeout,
    )


TS = "2026-11-20T14:03:11.482Z"


def _sample_value(name: str, annotation: Any) -> Any:
    """A valid value for a required field of a model."""
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType):
        return _sample_value(name, next(a for a in get_args(annotation) if a is not type(None)))
    if origin is typing.Annotated:
        return _sample_value(name, get_args(annotation)[0])
    if annotation is bool:
        return True
    if annotation is int:
        return 2 if name == "attempt" else 503
    if annotation is float:
        return 12.5
    return f"{name}-1"


def sample_event(event: str, **overrides: Any) -> dict[str, Any]:
    """One valid line (as a dict) of ``event``: every required field filled, plus a few
    optional ones so that every known field of the model is exercised."""
    model = EVENT_MODELS[event]
    data: dict[str, Any] = {"ts": TS}
    for name, field in model.model_fields.items():
        if name == "ts":
            continue
        if field.is_required():
            data[name] = _sample_value(name, field.annotation)
        elif field.default is not None:
            data[name] = field.default
        else:
            data[name] = _sample_value(name, field.annotation)
    data.update(overrides)
    parsed: BaseEvent = model.model_validate(data)  # the sample must be valid
    return json.loads(dumps(parsed))


def write_lines(path: Path, lines: list[str | dict[str, Any]], *, newline: str = "\n") -> Path:
    """Write lines (dicts are dumped as compact JSON) to ``path``."""
    text = newline.join(x if isinstance(x, str) else json.dumps(x) for x in lines) + newline
    path.write_text(text, encoding="utf-8")
    return path


def fresh(tmp_path: Path, name: str = "t.duckdb") -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / name)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()
