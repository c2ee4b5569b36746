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
