"""Every third-party module the project's code imports is named in the requirements of its layer:
what a deployed function can reach, in requirements.txt; the local server and manage.py, in
requirements-local.txt too; the CLI, in its pyproject.toml. A module that only comes with another
package (Jinja2 with Flask) goes the day that package stops needing it, or pins it elsewhere."""
from __future__ import annotations

import ast
import functools
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "clients" / "cli"


def imported_modules(path: Path) -> set[str]:
    """The absolute modules a file imports, at any level (a function's lazy import counts too);
    `from a import b` gives `a.b`, since b may be a module of its own."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def own_file(module: str, root: Path) -> Path | None:
    """The file under root that module (or the longest package it names) is, if any."""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:depth])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def reachable(starts: Iterable[Path], root: Path) -> set[Path]:
    """The files starts import, directly or through one another."""
    seen: set[Path] = set()
    todo = list(starts)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += [found for module in imported_modules(path) if (found := own_file(module, root))]
    return seen


@functools.cache
def top_level_owners() -> dict[str, list[str]]:
    return metadata.packages_distributions()


@functools.cache
def module_paths(distribution: str) -> frozenset[str]:
    """The modules and packages a distribution installs, as paths: google/cloud/pubsub_v1, pg8000/native."""
    paths = set()
    for file in metadata.distribution(distribution).files or ():
        paths |= {"/".join(file.parts[:depth]) for depth in range(1, len(file.parts))}
        paths.add(str(file).partition(".")[0])
    return frozenset(paths)


@functools.cache
def distribution_of(module: str) -> str:
    """The installed distribution that provides module: for a namespace package (google.cloud.*)
    the one that installs its longest named part."""
    parts = module.split(".")
    owners = set(top_level_owners().get(parts[0], ()))
    for depth in range(len(parts), 0, -1):
        found = {d for d in owners if "/".join(parts[:depth]) in module_paths(d)}
        if len(found) == 1:
            return canonicalize_name(found.pop())
    assert len(owners) == 1, f"{module} is provided by {sorted(owners) or 'no installed distribution'}"
    return canonicalize_name(owners.pop())


def third_party(files: Iterable[Path], root: Path) -> dict[str, str]:
    """Each module the files import from outside the standard library and root: its distribution."""
    modules = {m for path in files for m in imported_modules(path)}
    return {m: distribution_of(m) for m in sorted(modules)
            if m.split(".")[0] not in sys.stdlib_module_names and not own_file(m, root)}


def named_in(requirements: Path) -> set[str]:
    """The distributions a requirements file names, with those of the files it includes (-r)."""
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.partition("#")[0].strip()
        if line.startswith("-r "):
            names |= named_in(requirements.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def unnamed(imports: dict[str, str], names: set[str]) -> dict[str, list[str]]:
    """The distributions imported but not named, each with the modules that need it."""
    missing: dict[str, list[str]] = {}
    for module, dist in imports.items():
        if dist not in names:
            missing.setdefault(dist, []).append(module)
    return missing


def test_deployed_functions_import_only_the_runtime_requirements():
    """What a function can load, lazily or not, is deployed from requirements.txt alone."""
    deployed = reachable(ROOT.glob("functions/*/main.py"), ROOT)
    assert len(deployed) > 20
    missing = unnamed(third_party(deployed, ROOT), named_in(ROOT / "requirements.txt"))
    assert not missing, f"imported by deployed code, not in requirements.txt: {missing}"


def test_the_local_server_and_manage_py_import_only_the_runtime_and_local_requirements():
    code = [ROOT / "manage.py", *ROOT.glob("shared/**/*.py")]
    local = named_in(ROOT / "requirements-local.txt")
    assert named_in(ROOT / "requirements.txt") <= local, "requirements-local.txt includes requirements.txt"
    missing = unnamed(third_party(code, ROOT), local)
    assert not missing, f"imported by shared/ or manage.py, not in requirements(-local).txt: {missing}"


def test_the_cli_imports_only_its_declared_dependencies():
    project = tomllib.loads((CLI / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}
    imports = third_party((CLI / "src").glob("**/*.py"), CLI / "src")
    missing = unnamed(imports, declared)
    assert imports and not missing, f"imported by the CLI, not in its pyproject.toml: {missing}"


def test_the_dev_requirements_hold_the_local_ones():
    """make test installs requirements-dev.txt into the venv make run made: nothing local is lost."""
    assert named_in(ROOT / "requirements-local.txt") <= named_in(ROOT / "requirements-dev.txt")
