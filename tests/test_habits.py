"""Habits the suite keeps: every test says in one line what behaviour it pins."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_has_a_docstring() -> None:
    """Each test function under tests/ has a docstring naming the behaviour it pins."""
    missing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            is_test = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_test and node.name.startswith("test") and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    assert missing == []
