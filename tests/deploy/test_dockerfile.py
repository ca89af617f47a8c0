"""The Dockerfile's invariants (no Docker engine here to build it): what the chart relies on."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.deploy.dockerfile import CHART_COMMAND, DOCKERFILE, ROOT, Stage, parse

BUILD_TOOLS = re.compile(
    r"\b(build-essential|gcc|g\+\+|cc|clang|make|cmake|[\w.+-]+-dev|rustc|cargo|uv|pip-tools)\b"
)


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The stages of the project's Dockerfile."""
    return parse(DOCKERFILE.read_text())


def _apt_packages(stage: Stage) -> list[str]:
    """Packages every ``apt-get install`` of a stage installs (options dropped)."""
    packages = []
    for run in stage.all("RUN"):
        for command in re.split(r"&&|;", run.arguments):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                packages += [w for w in words[2:] if not w.startswith("-")]
    return packages


def test_multi_stage_on_python_313_slim(stages: list[Stage]) -> None:
    """A builder and a runtime stage, both on python:3.13-slim; the runtime is the last."""
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.13(\.\d+)?-slim(-\w+)?", stage.base), stage.base
    assert stages[-1].name == "runtime"


def test_runtime_is_non_root_1000(stages: list[Stage]) -> None:
    """The runtime runs as uid/gid 1000 (the pod's runAsUser) and creates that user."""
    runtime = stages[-1]
    user = runtime.last("USER")
    assert user is not None
    assert user.arguments in ("1000", "1000:1000")
    setup = " ".join(run.arguments for run in runtime.all("RUN"))
    assert "--uid 1000" in setup
    assert "--gid 1000" in setup


def test_port_and_command(stages: list[Stage]) -> None:
    """EXPOSE 8080 and the command the chart runs, in exec form (so SIGTERM reaches mobu)."""
    runtime = stages[-1]
    exposed = [i.arguments for i in runtime.all("EXPOSE")]
    assert exposed == ["8080"]
    assert runtime.last("ENTRYPOINT") is None
    cmd = runtime.last("CMD")
    assert cmd is not None
    assert cmd.exec_form() == CHART_COMMAND
    assert CHART_COMMAND[CHART_COMMAND.index("--port") + 1] == "8080"


def test_no_build_tools_in_runtime(stages: list[Stage]) -> None:
    """The runtime installs git and git-lfs only; compilers stay in the builder."""
    runtime = stages[-1]
    packages = _apt_packages(runtime)
    assert sorted(packages) == ["git", "git-lfs"]
    for run in runtime.all("RUN"):
        assert not BUILD_TOOLS.search(run.arguments), run.arguments
        assert "pip install" not in run.arguments
    builder_packages = _apt_packages(stages[0])
    assert "build-essential" in builder_packages, "the builder is where compilers go"


def test_runtime_copies_only_the_venv(stages: list[Stage]) -> None:
    """The runtime gets the virtual environment from the builder and no source tree."""
    runtime = stages[-1]
    assert runtime.all("ADD") == []
    copies = [c.arguments for c in runtime.all("COPY")]
    assert copies == [f"--from={stages[0].name} /opt/mobu /opt/mobu"]
    path = next(e.arguments for e in runtime.all("ENV") if "PATH=" in e.arguments)
    assert '"/opt/mobu/bin:$PATH"' in path
    assert any("PYTHONDONTWRITEBYTECODE=1" in e.arguments for e in runtime.all("ENV"))
    assert "MOBU_CONFIG_PATH=/etc/mobu/config.yaml" in " ".join(
        e.arguments for e in runtime.all("ENV")
    )


def test_build_context(stages: list[Stage]) -> None:
    """Every file the builder copies exists and passes .dockerignore; nothing else does."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
    sources = []
    for copy in stages[0].all("COPY"):
        words = copy.arguments.split()
        assert not any(w.startswith("--from") for w in words)
        sources += words[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert any(fnmatch.fnmatch(source, pattern) for pattern in allowed), source
    assert set(allowed) == set(sources)


def test_wheel_carries_the_data_files() -> None:
    """The wheel the builder makes holds every shipped data file (query sets, params)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    data = ROOT / "src" / "mobu" / "data"
    files = [p for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files
    missing = [
        str(p.relative_to(ROOT))
        for p in files
        if not any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)
    ]
    assert missing == []
    assert Path("mobu/data") == data.relative_to(ROOT / "src")


def test_image_carries_the_dashboard_assets(stages: list[Stage]) -> None:
    """The builder vendors htmx and uPlot into the venv's tree (copied to the runtime with it)
    and fails without them; the runtime points the dashboard at them: no CDN, offline."""
    builder_runs = " ".join(run.arguments for run in stages[0].all("RUN"))
    assert "ui-assets.sh" in builder_runs
    assert "test -f /opt/mobu/ui-assets/vendor/htmx.min.js" in builder_runs
    assert "npm" in _apt_packages(stages[0])
    environment = " ".join(e.arguments for e in stages[-1].all("ENV"))
    assert "MOBU_UI_ASSETS_DIR=/opt/mobu/ui-assets/vendor" in environment
