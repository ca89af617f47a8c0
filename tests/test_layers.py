"""The layers of ``src/mobu`` import one way; moved modules leave no stale path behind.

Every ``import`` counts: module-level, function-level and ``TYPE_CHECKING`` ones, relative ones
resolved, and ``importlib.import_module("...")`` calls with a literal name. The layers, top down:
the composition root (``factory``, ``observability``, ``server``, ``main``, ``cli``, ``demo``)
wires ``handlers`` (HTTP) → ``services`` (behaviour) → ``storage`` and ``sinks`` (I/O); ``models``
are the vocabulary every layer shares and import none of them. See docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src"

COMPOSITION_ROOT = ("mobu.factory", "mobu.observability", "mobu.server", "mobu.main")

# Modules that moved in issue 12: (old dotted path, new dotted path). The old ones must be gone
# from src/, and no file of src/, tests/, bench/, docs/ or README.md may still name them.
MOVED = [
    ("mobu.services.alerts", "mobu.alerts.reporting"),
    ("mobu.metrics.observability", "mobu.observability"),
    ("mobu.services.discovery", "mobu.discovery"),
    ("mobu.services.identity_providers", "mobu.identity"),
    ("mobu.services.identity", "mobu.identity"),
    ("mobu.testing.hub", "mobu.platform.hub"),
    ("mobu.testing.dachs", "mobu.platform.dachs"),
    ("mobu.testing.lfs", "mobu.platform.lfs"),
    ("mobu.testing.githttp", "mobu.platform.githttp"),
    ("mobu.testing.prometheus", "mobu.platform.prometheus"),
    ("mobu.testing.processtree", "mobu.platform.processtree"),
    ("mobu.testing.dachs.demo", "mobu.demo.dachs_flocks"),
    ("mobu.alerts.redact", "mobu.redaction"),
]
# Names that moved out of a module that stays: (module, name, new module).
MOVED_NAMES = [
    ("mobu.cli.serve", "MobuServer", "mobu.server"),
    ("mobu.cli.serve", "run_server", "mobu.server"),
    ("mobu.services.notebooks", "CollectionRule", "mobu.models.repo"),
    ("mobu.services.notebooks", "RepoConfig", "mobu.models.repo"),
    ("mobu.events", "EmptyLoopExecution", "mobu.services.business.empty"),
    ("mobu.events", "MusterExecution", "mobu.services.business.muster"),
    ("mobu.events", "TapQuery", "mobu.services.business.tap"),
    ("mobu.events", "SIAQuery", "mobu.services.business.siaquerysetrunner"),
    ("mobu.events", "GitLfsCheck", "mobu.services.business.gitlfs"),
    ("mobu.events", "NotebookBase", "mobu.services.business.notebookrunner"),
    ("mobu.events", "NotebookExecution", "mobu.services.business.notebookrunner"),
    ("mobu.events", "NotebookCellExecution", "mobu.services.business.notebookrunner"),
    ("mobu.events", "NubladoPythonExecution", "mobu.services.business.nubladopythonloop"),
    ("mobu.events", "NubladoSpawnLab", "mobu.services.business.labsession"),
    ("mobu.events", "NubladoDeleteLab", "mobu.services.business.labsession"),
    ("mobu.services.business.nublado", "NubladoError", "mobu.services.business.labsession"),
    ("mobu.services.manager", "ShuttingDownError", "mobu.exceptions"),
    ("mobu.services.resources", "MissingServiceError", "mobu.exceptions"),
]


@dataclass(frozen=True)
class Import:
    """One import statement of a module under ``src/``."""

    importer: str
    path: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(importer: str, path: Path, node: ast.AST) -> list[str]:
    """The dotted names ``node`` imports (for ``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        module = _resolve(importer, path, node)
        return [module, *(f"{module}.{a.name}" for a in node.names if a.name != "*")]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def imports_of(importer: str, path: Path, source: str) -> list[Import]:
    """Every import in ``source`` (module ``importer`` at ``path``), at any depth of its code."""
    return [
        Import(importer, path, getattr(node, "lineno", 0), target)
        for node in ast.walk(ast.parse(source, str(path)))
        for target in _targets(importer, path, node)
    ]


@cache
def all_imports() -> tuple[Import, ...]:
    """Every import of every module under ``src/``."""
    found: list[Import] = []
    for path in sorted(SRC.rglob("*.py")):
        found += imports_of(_module_name(path), path, path.read_text())
    return tuple(found)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def violations(
    importers: tuple[str, ...], forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()
) -> list[str]:
    """Imports by a module in ``importers`` (and not in ``allowed``) of one in ``forbidden``.

    One line per import statement, even when it names several forbidden modules.
    """
    found: dict[tuple[Path, int], str] = {}
    for i in all_imports():
        if (
            _within(i.importer, importers)
            and not _within(i.importer, allowed)
            and _within(i.target, forbidden)
        ):
            found.setdefault((i.path, i.line), str(i))
    return [found[key] for key in sorted(found)]


def none(found: list[str]) -> None:
    """Fail listing every item of ``found``, one a line, if there is any."""
    assert not found, "\n" + "\n".join(found)


def test_the_walk_sees_every_kind_of_import() -> None:
    """The walk finds local, TYPE_CHECKING, relative and ``import_module`` imports."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import mobu.a\n"
        "if TYPE_CHECKING:\n"
        "    from mobu.b import B\n"
        "def f():\n"
        "    from ..c import C\n"
        "    from . import d\n"
        "    importlib.import_module('mobu.e')\n"
    )
    path = SRC / "mobu" / "pkg" / "mod.py"
    found = {i.target for i in imports_of("mobu.pkg.mod", path, source)}
    assert {"mobu.a", "mobu.b", "mobu.b.B", "mobu.c.C", "mobu.pkg.d", "mobu.e"} <= found
    package = imports_of("mobu.pkg", SRC / "mobu/pkg/__init__.py", "from . import x")
    assert "mobu.pkg.x" in {i.target for i in package}
    assert len({i.importer for i in all_imports()}) > 50


def test_models_import_no_layer_above() -> None:
    """``mobu.models`` imports nothing from services, handlers, registry, cli or the wiring."""
    above = ("mobu.services", "mobu.handlers", "mobu.dependencies", "mobu.registry", "mobu.cli")
    none(violations(("mobu.models",), above + COMPOSITION_ROOT))


def test_storage_and_sinks_import_no_services() -> None:
    """``mobu.storage`` and ``mobu.sinks`` (I/O) import nothing from ``mobu.services``."""
    none(violations(("mobu.storage", "mobu.sinks"), ("mobu.services",)))


def test_only_cli_imports_cli() -> None:
    """Nothing under ``src/`` imports ``mobu.cli`` except ``mobu.cli`` itself."""
    none(violations(("mobu",), ("mobu.cli",), allowed=("mobu.cli",)))


def test_config_imports_no_services() -> None:
    """``mobu.config`` takes each part's settings from that part's package, never from services."""
    none(violations(("mobu.config",), ("mobu.services",)))


def test_handlers_are_wired_by_the_app_only() -> None:
    """Handlers may call services, but only the app (``mobu.main``) imports handlers.

    The FastAPI glue in ``mobu.dependencies`` is likewise for handlers and the app only, so
    services, storage, models and the rest never see HTTP.
    """
    http = ("mobu.handlers", "mobu.dependencies")
    none(violations(("mobu",), http, allowed=(*http, "mobu.main")))


def test_error_handlers_import_no_services() -> None:
    """``mobu.handlers.errors`` renders every ``MobuError`` without importing ``mobu.services``."""
    none(violations(("mobu.handlers.errors",), ("mobu.services",)))


def test_the_engine_does_not_import_the_wiring() -> None:
    """Services, storage, sinks, models, alerts, metrics, discovery and identity are wired
    from above: none imports the composition root (factory, observability, server, main)."""
    below = (
        "mobu.services",
        "mobu.storage",
        "mobu.sinks",
        "mobu.models",
        "mobu.alerts",
        "mobu.metrics",
        "mobu.discovery",
        "mobu.identity",
        "mobu.events",
        "mobu.registry",
    )
    none(violations(below, COMPOSITION_ROOT))


def test_only_demo_and_cli_import_the_platform() -> None:
    """The local platform's launchers (``mobu.platform``) are started by the demo and the CLI,
    never imported by the library (``mobu.testing`` included)."""
    allowed = ("mobu.platform", "mobu.demo", "mobu.cli")
    none(violations(("mobu",), ("mobu.platform",), allowed=allowed))


def _exists(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _defines(dotted: str, name: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name == name
        for node in tree.body
    )


def test_moved_modules_are_gone() -> None:
    """Each module moved in issue 12 exists at its new path only: no shim is left at the old one."""
    none([old for old, _ in MOVED if _exists(old)])
    none([new for _, new in MOVED if not _exists(new)])
    stale = [f"{module}.{name}" for module, name, _ in MOVED_NAMES if _defines(module, name)]
    none(stale)
    missing = [f"{new}.{name}" for _, name, new in MOVED_NAMES if not _defines(new, name)]
    none(missing)


def test_no_file_names_a_moved_module() -> None:
    """No file of src/, tests/, bench/, docs/ or README.md names a moved module or name's old home.

    Modules are looked for as text (``mobu.services.alerts``, ``mobu/services/alerts``,
    ``services/alerts.py``); moved names through the imports of every Python file.
    """
    spellings: list[str] = []
    for old, _ in MOVED:
        relative = old.removeprefix("mobu.").replace(".", "/")
        spellings += [old, old.replace(".", "/"), f"{relative}.py", f"{relative}/"]
    pattern = re.compile("|".join(rf"(?<![\w.]){re.escape(s)}(?![\w])" for s in spellings))
    python = [p for top in ("src", "tests", "bench") for p in sorted((ROOT / top).rglob("*.py"))]
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
        for path in [ROOT / "README.md", *sorted(ROOT.glob("docs/**/*.md")), *python]
        if path.resolve() != this
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in pattern.finditer(line)
    ]
    names = {f"{module}.{name}" for module, name, _ in MOVED_NAMES}
    found += [
        str(i)
        for path in python
        if path.resolve() != this
        for i in imports_of(path.stem, path, path.read_text())
        if i.target in names
    ]
    none(found)
