"""How the code is put together: shared modules import one another without a cycle,
and nothing a deployed function runs knows the local server."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ONLY = {"devserver", "embedded", "api_gateway", "schema_dump", "client_values"}  # the local server and tooling


def _imports(path: Path) -> set[str]:
    """The shared modules a file imports, at any level (a function's import counts too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "shared":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shared."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("shared.")}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in (ROOT / "shared").glob("*.py")}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def test_shared_modules_import_one_another_without_a_cycle():
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name not in done:
            for target in sorted(graph[name]):
                visit(target, path + [name])
            done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_deployed_code_imports_the_local_server_or_tooling():
    graph = _graph()
    for name, targets in graph.items():
        if name not in LOCAL_ONLY:
            assert not targets & LOCAL_ONLY, f"shared/{name}.py imports {targets & LOCAL_ONLY}"
    for main in ROOT.glob("functions/*/main.py"):
        assert not _imports(main) & LOCAL_ONLY, main
