"""The README's library example: it imports from ``mobu`` itself, loads, and runs once."""

from __future__ import annotations

import ast
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mobu
from mobu.identity import AnonymousIdentity
from mobu.models.solitary import SolitaryConfig
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder
from mobu.services.solitary import run_solitary
from tests.support.target import Target

README = Path(__file__).parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.DOTALL | re.MULTILINE)


@pytest.fixture
def example() -> Iterator[types.ModuleType]:
    """The README's Python block, executed as the module ``mypkg.ping``."""
    [source] = _python_blocks()
    module = types.ModuleType("mypkg.ping")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, f"{README}:python", "exec"), module.__dict__)
        yield module
    finally:
        del sys.modules[module.__name__]


@pytest.fixture
def registry(example: types.ModuleType) -> BusinessRegistry:
    """A registry with the README's business only (the ``builder`` fixture uses it)."""
    return BusinessRegistry({"Ping": example.Ping})


def test_example_imports_mobu_only_from_the_package() -> None:
    """The example takes every mobu name from ``mobu`` itself, and each is in ``mobu.__all__``."""
    [source] = _python_blocks()
    imported = [
        (node.module, alias.name)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mobu"
        for alias in node.names
    ]
    assert imported
    assert {module for module, _ in imported} == {"mobu"}
    assert {name for _, name in imported} <= set(mobu.__all__)


def test_example_is_a_business(example: types.ModuleType) -> None:
    """The example defines a ``mobu.Business`` with its options model, named as in the TOML."""
    assert issubclass(example.Ping, mobu.Business)
    assert example.Ping.options_model is example.PingOptions
    assert issubclass(example.PingOptions, mobu.BusinessOptions)
    assert 'Ping = "mypkg.ping:Ping"' in README.read_text()


async def test_example_runs_once(
    builder: MonkeyBuilder, registry: BusinessRegistry, target: Target
) -> None:
    """The example, given its collaborator, pings a real local server once and succeeds."""
    spec: dict[str, Any] = {
        "user": {"username": "bot-mobu-readme"},
        "business": {"type": "Ping", "options": {"url": f"{target.url}/ok", "timeout": 30}},
    }
    config = SolitaryConfig.model_validate(spec)
    result = await run_solitary(config, builder=builder, identity=AnonymousIdentity())
    assert result.success, result.error
    assert target.hits["ok"] == 1
    assert "Pinged" in result.log
