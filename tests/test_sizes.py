"""Size limits for ``src/``: small modules and short functions keep the code readable.

A function may be longer than the limit when its docstring says why, with the phrase
``Long because`` (for example a table-like ``match`` that reads best in one place).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MARKER = "Long because"


def long_modules(root: Path) -> list[str]:
    """Every module under ``root`` longer than the module limit, with its length."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def long_functions(root: Path) -> list[str]:
    """Every function or method under ``root`` over the limit whose docstring does not say why.

    A function's length runs from its first decorator to its last line, so a nested function
    counts in its own length and in the enclosing one's.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - start + 1
            if lines > MAX_FUNCTION_LINES and MARKER not in (ast.get_docstring(node) or ""):
                where = f"{path.relative_to(root)}:{node.lineno}"
                found.append(f"{where}: {node.name} has {lines} lines")
    return found


def test_no_module_over_the_limit() -> None:
    """No module under ``src/`` has more than 400 lines."""
    found = long_modules(SRC)
    assert not found, "\n" + "\n".join(found)


def test_no_function_over_the_limit_without_a_reason() -> None:
    """No function under ``src/`` has over 60 lines unless its docstring says "Long because"."""
    found = long_functions(SRC)
    assert not found, "\n" + "\n".join(found)


def test_the_checks_count_what_they_say(tmp_path: Path) -> None:
    """Decorators count in a function's length, the marker excuses it, and modules are measured."""
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(
        f"@decorated\ndef long():\n{body}\n\n"
        f'def excused():\n    """{MARKER} it is a table."""\n{body}\n\n'
        "def short():\n    return 1\n"
    )
    assert long_functions(tmp_path) == [f"m.py:2: long has {MAX_FUNCTION_LINES + 2} lines"]
    assert long_modules(tmp_path) == []
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert long_modules(tmp_path) == [f"big.py: {MAX_MODULE_LINES + 1} lines"]
