"""Sub-commands of the CLI, one module each; see analyzer/cli.py.

The modules are imported when used: ``analyzer lint`` imports only the lint command's module
(no DuckDB, pandas or Streamlit at start-up); ``analyzer --help`` imports them all.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS: dict[str, str] = {
    "import": "import_cmd",
    "check": "check_cmd",
    "lint": "lint_cmd",
    "timeline": "timeline_cmd",
    "rules": "rules_cmd",
    "schema": "schema_cmd",
    "formats": "formats_cmd",
    "simulate": "simulate_cmd",
    "dashboard": "dashboard_cmd",
    "export": "export_cmd",
}
"""Command name -> its module under analyzer/commands, in the order ``--help`` lists them."""


def command_modules(only: str | None = None) -> list[ModuleType]:
    """The command modules: all of them, or only the one of command ``only`` when it is one."""
    names = [COMMANDS[only]] if only in COMMANDS else list(COMMANDS.values())
    return [importlib.import_module(f"analyzer.commands.{name}") for name in names]


def __getattr__(name: str) -> list[ModuleType]:
    if name == "COMMAND_MODULES":  # every command module (imported on first use)
        return command_modules()
    raise AttributeError(f"module 'analyzer.commands' has no attribute {name!r}")
