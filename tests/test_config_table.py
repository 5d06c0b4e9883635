"""The README's configuration table names exactly the variables shared/config.py reads, both
read as they stand, so a setting added to one and not the other fails here."""
from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def variables_config_reads() -> set[str]:
    """The first argument of every call of one of the settings reader's methods (r.int("NAME", ...))."""
    tree = ast.parse((ROOT / "shared" / "config.py").read_text())
    [reader] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "_Reader"]
    methods = {node.name for node in reader.body if isinstance(node, ast.FunctionDef)}
    return {call.args[0].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in methods
            and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
            and VARIABLE.fullmatch(call.args[0].value)}


def variables_readme_lists() -> set[str]:
    """The names in the first column of the table under the README's "## Configuration"."""
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1]
    lines = section.split("\n## ", 1)[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))[2:]  # past the header
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_the_readme_lists_every_variable_config_reads_and_no_other():
    read, listed = variables_config_reads(), variables_readme_lists()
    assert len(read) > 60
    assert not read - listed, f"read by shared/config.py, missing from the README's table: {sorted(read - listed)}"
    assert not listed - read, f"in the README's table, never read by shared/config.py: {sorted(listed - read)}"
