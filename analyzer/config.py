"""Configuration of the check: ``[tool.analyzer]`` in pyproject.toml, or an ``analyzer.toml``.

Keys (dashes or underscores)::

    [tool.analyzer]
    fail-on = "error"                 # error | warning | info | never
    select = ["S", "R001"]            # codes or prefixes; empty = all
    ignore = ["L002"]                 # the most specific of select/ignore wins
    policy = "platform-policy.toml"   # policy overrides (analyzer.replay.policy.load_policy)
    price-per-gpu-hour = 1.89         # flat price; default: the policy's price per machine type
    docs-url = "https://github.com/acme/analyzer/blob/main/docs/rules.md"

    [tool.analyzer.rules.C004]        # per-rule options (thresholds) and severity
    threshold_s = 10
    severity = "error"

    [tool.analyzer.allow]             # per-app allowances: codes or prefixes never reported
    "acme/legacy" = ["S005", "C00"]

    [tool.analyzer.lint]              # analyzer lint: PATHs when none is given, paths to skip
    paths = ["apps"]
    exclude = ["tests/*", "*_pb2.py"]

    [[tool.analyzer.error-patterns]]  # classifier extensions, tried before the built-in ones
    error_class = "gpu_fault"
    field = "message"
    pattern = "Xid 79"

In ``analyzer.toml`` the same keys sit at the top level (or under ``[tool.analyzer]``).
A relative ``policy`` path is resolved against the configuration file's folder.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from analyzer.classify import Pattern
from analyzer.errors import AnalyzerError

FailOn = Literal["error", "warning", "info", "never"]
CONFIG_FILES = ("analyzer.toml", "pyproject.toml")


class ConfigError(AnalyzerError):
    """A configuration file that cannot be read or does not validate."""


class LintConfig(BaseModel):
    """``[tool.analyzer.lint]``: what ``analyzer lint`` reads when given no PATH."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = []
    exclude: list[str] = Field(default=[], description="fnmatch patterns of paths to skip")


class Config(BaseModel):
    """Everything ``analyze``, ``analyzer check`` and ``analyzer lint`` can be told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fail_on: FailOn = "error"
    select: list[str] = []
    ignore: list[str] = []
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    allow: dict[str, list[str]] = Field(default_factory=dict)
    policy: str | None = None
    price_per_gpu_hour: float | None = Field(default=None, ge=0)
    error_patterns: list[Pattern] = []
    docs_url: str | None = None
    lint: LintConfig = Field(default_factory=LintConfig)
    source: str | None = Field(default=None, description="the file it was read from")

    def fingerprint(self) -> str:
        """A hash of what changes the findings (to know when an analysis is stale)."""
        data = self.model_dump(exclude={"fail_on", "docs_url", "source", "lint"})
        if self.policy:
            p = Path(self.policy)
            data["policy_text"] = p.read_text(encoding="utf-8") if p.exists() else None
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _normalise(data: Any) -> Any:
    """Dashes in keys become underscores (TOML style ``fail-on``), except inside tables whose
    keys are user data (``rules`` codes, ``allow`` app names)."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        k = key.replace("-", "_")
        if k in ("allow",):
            out[k] = value
        elif k == "rules" and isinstance(value, dict):
            out[k] = {code.upper(): _normalise(opts) for code, opts in value.items()}
        elif k == "lint" and isinstance(value, dict):
            out[k] = _normalise(value)
        elif k == "error_patterns" and isinstance(value, list):
            out[k] = [_normalise(v) for v in value]
        else:
            out[k] = value
    return out


def config_from_dict(data: dict[str, Any], *, source: str | None = None) -> Config:
    try:
        return Config.model_validate({**_normalise(data), "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "config"
        raise ConfigError(f"{source or 'configuration'}: {where}: {first['msg']}") from None


def load_config(path: str | Path | None = None, *, search_dir: str | Path = ".") -> Config:
    """Read ``path`` (an analyzer.toml or a pyproject.toml), or find one in ``search_dir``.

    No file: the defaults. A pyproject.toml without ``[tool.analyzer]`` is skipped.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"configuration file not found: {p}")
        table = _read_table(p, required=True)
        return _resolved(config_from_dict(table or {}, source=str(p)), p)
    for name in CONFIG_FILES:
        p = Path(search_dir) / name
        if p.is_file():
            table = _read_table(p, required=False)
            if table is not None:
                return _resolved(config_from_dict(table, source=str(p)), p)
    return Config()


def _read_table(p: Path, *, required: bool) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {p}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {p} is not valid TOML: {exc}") from None
    tool = data.get("tool", {}).get("analyzer") if isinstance(data.get("tool"), dict) else None
    if isinstance(tool, dict):
        return tool
    if p.name == "pyproject.toml":
        return {} if required else None
    return {k: v for k, v in data.items() if k != "tool"}


def _resolved(config: Config, file: Path) -> Config:
    if config.policy and not Path(config.policy).is_absolute():
        return config.model_copy(update={"policy": str(file.parent / config.policy)})
    return config
