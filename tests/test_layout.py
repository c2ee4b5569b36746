"""The codebase's layout rules, checked on the source: sizes a reader can hold, and a library that
names no command-line flag (the command line words settings with its own flags, relight/cli/_errors.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "relight"
SOURCES = sorted(PACKAGE.rglob("*.py"))
LIMITS = {"module": 650, ast.ClassDef: 250, ast.FunctionDef: 100, ast.AsyncFunctionDef: 100}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_modules_functions_and_classes_stay_small(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= LIMITS["module"]
    for node in ast.walk(ast.parse(source)):
        limit = LIMITS.get(type(node))
        if limit is not None:
            assert node.end_lineno - node.lineno + 1 <= limit, f"{_name(path)}:{node.lineno} {node.name}"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(id(body[0].value))
    return found


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parent.name != "cli"], ids=_name)
def test_library_strings_name_no_command_line_flag(path: Path) -> None:
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    flagged = [
        f"{_name(path)}:{node.lineno}: {node.value[:80]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs and FLAG.search(node.value)
    ]
    assert not flagged, "library text names flags (use relight.errors.Setting parts):\n" + "\n".join(flagged)


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in SOURCES}


def _home(name: str) -> str | None:
    """The relight module ``name`` is, or is inside (``relight.io.read_image`` -> ``relight.io``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """Every relight module ``module`` imports, at the top or inside a function, and the modules a
    package's lazy attributes name (``"relight.inference.relighter"``): a lazy import is an import."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES:
            names = [node.value]
        for name in names:
            home = _home(name) if name.startswith("relight") else None
            if home is None or home == module or module.startswith(home + "."):  # its own packages run already
                continue
            found.add(home)
            # importing a.b.c first runs the packages a.b and a, unless this module is inside them already
            parts = home.split(".")
            found.update(p for i in range(1, len(parts)) if (p := ".".join(parts[:i])) in MODULES and not module.startswith(p + "."))
    found.discard(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_imports_run_one_way() -> None:
    graph = {module: _imports(module) for module in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_top_level_holds_few_loose_modules() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= 8, loose


def test_only_the_command_line_imports_typer_or_rich() -> None:
    outside = [module for module, path in MODULES.items() if not module.startswith("relight.cli") and
               any(isinstance(node, (ast.Import, ast.ImportFrom)) and
                   any(name.split(".")[0] in ("typer", "rich") for name in
                       ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]))
                   for node in ast.walk(ast.parse(path.read_text())))]
    assert outside == []


def test_command_modules_import_no_other_command() -> None:
    commands = {m for m in MODULES if m.startswith("relight.cli.") and not m.rpartition(".")[2].startswith("_")}
    crossing = {m: sorted(_imports(m) & commands) for m in commands if _imports(m) & commands}
    assert crossing == {}
