"""Sub-commands of the CLI, one module each; see analyzer/cli.py."""

from __future__ import annotations

from types import ModuleType

from analyzer.commands import (
    check_cmd,
    dashboard_cmd,
    export_cmd,
    formats_cmd,
    import_cmd,
    lint_cmd,
    rules_cmd,
    schema_cmd,
    simulate_cmd,
    timeline_cmd,
)

COMMAND_MODULES: list[ModuleType] = [
    import_cmd,
    check_cmd,
    lint_cmd,
    timeline_cmd,
    rules_cmd,
    schema_cmd,
    formats_cmd,
    simulate_cmd,
    dashboard_cmd,
    export_cmd,
]
