"""Options, configuration and startup errors of the Jupyter businesses (no server needed)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import structlog
from pydantic import ValidationError

from mobu.config import Config
from mobu.discovery import Discovery, DiscoveryError
from mobu.events import Events
from mobu.exceptions import InvalidOptionsError
from mobu.identity import IdentityError, build_identity
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.business.nublado import NubladoPythonLoopOptions
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry
from mobu.services.business.labsession import NubladoError
from mobu.services.business.notebookrunnerlist import NotebookRunnerList
from mobu.services.business.nubladopythonloop import NubladoPythonLoop
from mobu.services.notebooks import NotebookRepositoryError
from mobu.services.repo import RepoCache
from tests.jupyter.notebooks import notebook


def test_image_mapped_to_user_options() -> None:
    """Image and user options map to the hub's spawn form fields."""
    options = NubladoPythonLoopOptions.model_validate(
        {
            "image": {"class": "by-reference", "reference": "lsst/sciplat:w_1", "debug": True},
            "user_options": {"size": ["Small"], "extra": 1},
        }
    )
    assert options.spawn_options() == {
        "image_list": ["lsst/sciplat:w_1"],
        "size": ["Small"],
        "enable_debug": ["true"],
        "extra": 1,
    }
    default = NubladoPythonLoopOptions.model_validate({"image": {}})
    assert default.spawn_options() == {"image_class": ["recommended"], "size": ["Large"]}


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"image": {"class": "by-tag"}}, "image"),
        ({"spawn_settle_time": 700}, "options"),
        ({"max_executions": 0}, "max_executions"),
        ({"websocket_protocol": "v2"}, "websocket_protocol"),
        ({"cell_timeout": 5}, "cell_timeout"),
    ],
)
def test_bad_options_name_their_place(options: dict[str, object], where: str) -> None:
    """Invalid Nublado options are refused with the field's location."""
    with pytest.raises(InvalidOptionsError) as info:
        BusinessRegistry().options("NubladoPythonLoop", options)
    assert any(where in ".".join(map(str, e["loc"])) for e in info.value.errors)


def test_entry_points() -> None:
    """The Jupyter businesses are registered, with the alias and their collaborators."""
    registry = BusinessRegistry()
    assert registry.get("JupyterPythonLoop") is registry.get("NubladoPythonLoop")
    for name in ("NotebookRunnerCounting", "NotebookRunnerList", "NotebookRunnerInfinite"):
        assert "repo_url" in registry.options_model(name).model_fields
    assert "max_executions" in registry.options_model("NotebookRunnerCounting").model_fields
    assert registry.extra_parameters("NotebookRunnerList") == [
        "http_client",
        "discovery",
        "repo_cache",
    ]


def test_identity_config() -> None:
    """Identity config validates the provider and admin token and needs the hub URL."""
    with pytest.raises(ValidationError, match="admin_token"):
        Config(identity={"provider": "jupyterhub"})
    with pytest.raises(ValidationError, match="provider"):
        Config(identity={"provider": "ldap"})
    config = Config(identity={"provider": "jupyterhub", "admin_token": "s3cret"})
    assert "s3cret" not in repr(config)
    assert config.identity is not None
    with pytest.raises(IdentityError, match=r"discovery\.services\.hub"):
        build_identity(
            config.identity,
            hub_url=None,
            http=httpx.AsyncClient(),
            logger=structlog.get_logger("t"),
        )


def _business(token: str | None, discovery: Discovery) -> NubladoPythonLoop:
    return NubladoPythonLoop(
        options=NubladoPythonLoopOptions(),
        user=AuthenticatedUser(username="bot-mobu-x", token=token),
        events=Events(),
        logger=structlog.get_logger("t"),
        flock=None,
        http_client=httpx.AsyncClient(),
        discovery=discovery,
    )


async def test_startup_failures_are_clear() -> None:
    """Startup without a token or a hub in discovery fails with a clear error."""
    with pytest.raises(NubladoError, match="needs a token"):
        await _business(None, Discovery()).startup()
    with pytest.raises(DiscoveryError, match=r"'hub' is not in discovery\.services"):
        await _business("t", Discovery()).startup()


async def test_empty_runnable_set_is_a_clear_error(tmp_path: Path) -> None:
    """A repository with no runnable notebook fails startup naming the repo."""
    (tmp_path / "a.ipynb").write_text(
        notebook("1", metadata={"mobu": {"required_applications": ["portal"]}})
    )
    cache = RepoCache(structlog.get_logger("t"))
    business = NotebookRunnerList(
        options=NotebookRunnerOptions(repo_url=str(tmp_path)),
        user=AuthenticatedUser(username="bot-mobu-x", token="t"),
        events=Events(),
        logger=structlog.get_logger("t"),
        flock=None,
        http_client=httpx.AsyncClient(),
        discovery=Discovery(),
        repo_cache=cache,
    )
    try:
        with pytest.raises(NotebookRepositoryError, match="No runnable notebooks") as info:
            await business.startup()
        assert info.value.alert_context()["repo"] == str(tmp_path)
    finally:
        await business.close()
        await cache.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/lsst-sqre/notebook-demo.git",
        "http://127.0.0.1:8080/repo.git",
        "ssh://git@github.com/lsst-sqre/notebook-demo.git",
        "git://example.org/repo.git",
        "git@github.com:lsst-sqre/notebook-demo.git",
        "file:///srv/notebooks",
        "/srv/notebooks",
    ],
)
def test_repo_url_accepted(url: str) -> None:
    """Git URLs, file:// URLs and absolute paths are repositories."""
    assert NotebookRunnerOptions(repo_url=url).repo_url == url


@pytest.mark.parametrize(
    "url",
    [
        "../../etc",
        "notebooks",
        "./notebooks",
        "/srv/../etc",
        "file:///srv/../etc",
        "https://example.org/a/../b.git",
        "-uevil",
        "ext::sh -c touch% /tmp/x",
        "ftp://example.org/repo.git",
        "https:///no-host",
        "file://otherhost/srv",
        "/srv/notebooks\n",
        "",
    ],
)
def test_repo_url_refused(url: str) -> None:
    """Relative paths, '..', option-like values and other schemes are refused."""
    with pytest.raises(ValidationError, match="repo_url"):
        NotebookRunnerOptions(repo_url=url)


@pytest.mark.parametrize(
    ("business", "value"),
    [
        ("NubladoPythonLoop", True),
        ("NubladoPythonLoop", "3"),
        ("NubladoPythonLoop", 1_000_000),
        ("NotebookRunnerCounting", 2.0),
        ("NotebookRunnerCounting", 0),
    ],
)
def test_max_executions_strict_and_bounded(business: str, value: object) -> None:
    """max_executions is a real integer between 1 and 100,000."""
    with pytest.raises(InvalidOptionsError) as info:
        BusinessRegistry().options(business, {"max_executions": value})
    assert info.value.errors[0]["loc"] == ("options", "max_executions")
