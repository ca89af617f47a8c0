"""Options of the notebook runners."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SerializationInfo, field_serializer, field_validator

from mobu.models.business.nublado import (
    MAX_EXECUTIONS,
    NubladoBusinessData,
    NubladoBusinessOptions,
)
from mobu.models.repo import CollectionRule
from mobu.models.secrets import serialize_secret_url
from mobu.models.timedelta import HumanTimedelta

__all__ = [
    "NotebookRunnerCountingOptions",
    "NotebookRunnerData",
    "NotebookRunnerOptions",
    "check_repo_url",
]

_URL_SCHEMES = ("http", "https", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$")
"""``git@github.com:owner/repo.git``."""


def check_repo_url(value: str) -> str:
    """Return ``value`` if it is a repository git may clone without surprises.

    Accepted: an ``http``, ``https``, ``ssh`` or ``git`` URL with a host, a ``file://`` URL or an
    absolute local path, or the scp-like ``user@host:path``; never a relative path, a ``..``
    component, a leading ``-`` (git would take it for an option) or control characters.

    Raises
    ------
    ValueError
        Not one of those (the value is not quoted).
    """
    if not value or value.startswith("-") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("repo_url must not be empty, start with '-' or hold control characters")
    if _SCP_LIKE.match(value):
        path = value.split(":", 1)[1]
    elif "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in _URL_SCHEMES:
            raise ValueError(f"repo_url scheme must be one of {', '.join(_URL_SCHEMES)}")
        if parts.scheme != "file" and not parts.hostname:
            raise ValueError("repo_url needs a host")
        if parts.scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
            raise ValueError("a file:// repo_url must name a local absolute path")
        path = parts.path
    elif value.startswith("/"):
        path = value
    else:
        raise ValueError(
            "repo_url must be an http(s), ssh, git or file:// URL, user@host:path,"
            " or an absolute path (not a relative one)"
        )
    if ".." in PurePosixPath(path).parts:
        raise ValueError("repo_url must not contain '..' components")
    return value


class NotebookRunnerOptions(NubladoBusinessOptions):
    """Options shared by NotebookRunnerCounting, NotebookRunnerList and NotebookRunnerInfinite."""

    repo_url: str = Field(
        "https://github.com/lsst-sqre/notebook-demo.git",
        description=(
            "Git URL (http, https, ssh, git), user@host:path, file:// URL or absolute local path"
            " of the notebook repository (no relative paths, no '..')"
        ),
    )
    repo_ref: str = Field("prod", description="Branch, tag or commit to check out")
    notebook_idle_time: HumanTimedelta = Field(
        timedelta(0), description="Pause after each notebook"
    )
    exclude_dirs: list[str] = Field(
        default_factory=list, description="Deprecated: directories whose notebooks are skipped"
    )
    collection_rules: list[CollectionRule] = Field(
        default_factory=list,
        description="Rules selecting notebooks, applied before those of the repo's mobu.yaml",
    )
    cell_timeout: HumanTimedelta | None = Field(
        timedelta(minutes=5),
        validation_alias=AliasChoices("cell_timeout", "cell_execution_timeout"),
        description=(
            "Longest time one cell may run; it then fails its notebook. null: no limit."
            " Also accepted as the reference's cell_execution_timeout"
        ),
    )

    @field_validator("repo_url")
    @classmethod
    def _check_repo_url(cls, value: str) -> str:
        return check_repo_url(value)

    @field_serializer("repo_url")
    def _mask_repo_password(self, value: str, info: SerializationInfo) -> str:
        """A password in the repository URL's userinfo is a secret: shown masked."""
        return serialize_secret_url(value, info)


class NotebookRunnerCountingOptions(NotebookRunnerOptions):
    """Options of NotebookRunnerCounting."""

    max_executions: int = Field(
        25,
        strict=True,
        ge=1,
        le=MAX_EXECUTIONS,
        description="Notebooks run per lab session",
    )


class NotebookRunnerData(NubladoBusinessData):
    """Status of a notebook runner: the lab's, plus the notebook and code it is running."""

    notebook: str | None = Field(None, description="Name of the notebook being run")
    running_code: str | None = Field(None, description="Code of the cell being run")
