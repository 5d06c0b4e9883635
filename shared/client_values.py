"""The clients' copies of shared/choices.py, generated: the CLI's Python module, the VS Code
extension's TypeScript module, and the web widget's list of types (between marker comments
in its one hand-written file). The clients are packaged apart from the server and cannot
import it. `python manage.py client-values` writes them; tests/test_choices.py fails when
one is stale. No function imports this module.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from shared import choices

ROOT = Path(__file__).resolve().parent.parent
CLI_MODULE = ROOT / "clients/cli/src/pilot_feedback_cli/values.py"
TYPESCRIPT_MODULE = ROOT / "clients/vscode/src/values.ts"
WIDGET = ROOT / "shared/widget/widget.js"
SOURCE_NOTE = "Generated from shared/choices.py by `python manage.py client-values`: change them there."
WIDGET_BLOCK = re.compile(r"(// <generated .*?>\n).*?(\s*// </generated>)", re.DOTALL)


def _tuple(values: Iterable[str]) -> str:
    return "(" + ", ".join(json.dumps(v) for v in values) + ")"


def cli_module() -> str:
    constants = {"FEEDBACK_TYPES": choices.FEEDBACK_TYPES, "PRIORITIES": choices.PRIORITIES,
                 "STATUSES": choices.STATUSES, "SOURCES": choices.SOURCES, "SLA_STATUSES": choices.SLA_STATUSES}
    lines = [f'"""The values the API takes for its enumerated fields.\n\n{SOURCE_NOTE}\n"""']
    lines += [f"{name} = {_tuple(values)}" for name, values in constants.items()]
    return "\n".join(lines) + "\n"


def typescript_module() -> str:
    types = "".join(f"\n  {{ value: {json.dumps(t)}, label: {json.dumps(choices.TYPE_LABELS[t])} }},"
                    for t in choices.FEEDBACK_TYPES)
    return (f"// The values the API takes for the fields the extension asks for.\n// {SOURCE_NOTE}\n\n"
            f"export const FEEDBACK_TYPES = [{types}\n] as const;\n\n"
            f"export const PRIORITIES = {json.dumps(list(choices.PRIORITIES))} as const;\n\n"
            f"export const DEFAULT_PRIORITY = {json.dumps(choices.DEFAULT_PRIORITY)};\n")


def widget_script(script: str) -> str:
    """The widget's script with its block of types as generated now."""
    types = ", ".join(json.dumps([t, choices.TYPE_LABELS[t]]) for t in choices.FEEDBACK_TYPES)
    script, found = WIDGET_BLOCK.subn(lambda m: f"{m[1]}  var TYPES = [{types}];{m[2]}", script)
    if found != 1:
        raise ValueError(f"{WIDGET} has no one // <generated ...> ... // </generated> block")
    return script


def generated() -> dict[Path, str]:
    """Each generated file and what it should hold."""
    return {CLI_MODULE: cli_module(), TYPESCRIPT_MODULE: typescript_module(),
            WIDGET: widget_script(WIDGET.read_text())}


def write() -> list[Path]:
    """Writes the files that differ from their generation; returns those."""
    wanted = generated()
    changed = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    for path in changed:
        path.write_text(wanted[path])
    return changed
