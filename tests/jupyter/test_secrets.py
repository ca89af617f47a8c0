"""A password in the notebook repository URL is never shown: options, clone errors, logs."""

from __future__ import annotations

import logging
import socket

import pytest
import structlog
from structlog.testing import CapturingLogger

from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.secrets import REVEAL, secret_values
from mobu.services.repo import RepoCache, RepoCloneError

PASSWORD = "repo-pw-0123456"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_repo_url_password_is_masked() -> None:
    """repo_url dumps with its password masked; only the client's REVEAL context shows it."""
    url = f"https://bot:{PASSWORD}@git.example.org/notebooks.git"
    options = NotebookRunnerOptions(repo_url=url)
    assert options.model_dump(mode="json")["repo_url"] == (
        "https://bot:**********@git.example.org/notebooks.git"
    )
    assert PASSWORD not in options.model_dump_json()
    assert options.model_dump(context=REVEAL)["repo_url"] == url
    assert options.repo_url == url  # the business clones the real URL
    assert PASSWORD in secret_values(options)


async def test_clone_error_hides_the_password() -> None:
    """A failed clone names the repository without its password, in the error and the log."""
    capture = CapturingLogger()
    logger = structlog.wrap_logger(
        capture, wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), processors=[]
    )
    cache = RepoCache(logger)
    url = f"http://bot:{PASSWORD}@127.0.0.1:{closed_port()}/notebooks.git"
    with pytest.raises(RepoCloneError) as excinfo:
        await cache.acquire(url, "main")
    await cache.aclose()
    error = excinfo.value
    assert "bot:**********@127.0.0.1" in str(error)
    assert PASSWORD not in f"{error} {error.alert_context()} {capture.calls}"
