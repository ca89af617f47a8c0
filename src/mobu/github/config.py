"""Configuration of the GitHub apps: ``githubRefreshApp`` and ``githubCiApp``.

The blocks come from the YAML file (camelCase or snake_case keys); their secrets come from the
environment the reference's chart sets (``MOBU_GITHUB_*``) when the file does not give them.
A block that is absent (``null``) means the app and its webhook route are off.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import User

__all__ = ["GitHubCiAppConfig", "GitHubRefreshAppConfig"]


class _GitHubAppBase(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )

    accepted_github_orgs: list[str] = Field(
        default_factory=list,
        description="GitHub organisations whose webhooks are accepted (others are ignored)",
    )
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC secret of the webhook (X-Hub-Signature-256)"
    )

    @classmethod
    def _from_env(cls, data: Any, names: dict[str, str]) -> Any:
        if data is None:
            return data
        data = dict(data)
        for field, variable in names.items():
            alias = to_camel(field)
            if field not in data and alias not in data and os.environ.get(variable):
                data[field] = os.environ[variable]
        return data


class GitHubRefreshAppConfig(_GitHubAppBase):
    """``githubRefreshApp``: refresh notebook flocks on a push to their repository."""

    @model_validator(mode="before")
    @classmethod
    def _env(cls, data: Any) -> Any:
        return cls._from_env(data, {"webhook_secret": "MOBU_GITHUB_REFRESH_APP_WEBHOOK_SECRET"})

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.webhook_secret is None:
            raise ValueError(
                "githubRefreshApp needs a webhook secret (MOBU_GITHUB_REFRESH_APP_WEBHOOK_SECRET)"
            )
        return self


class GitHubCiAppConfig(_GitHubAppBase):
    """``githubCiApp``: run a pull request's changed notebooks as a GitHub check."""

    id: int | None = Field(None, description="GitHub App id (MOBU_GITHUB_CI_APP_ID)")
    private_key: SecretStr | None = Field(
        None, description="GitHub App private key, PEM (MOBU_GITHUB_CI_APP_PRIVATE_KEY)"
    )
    users: list[User] = Field(
        default_factory=list, description="Bot users that run CI jobs, one worker each"
    )
    scopes: list[str] = Field(default_factory=list, description="Token scopes of CI runs")
    api_url: str = Field(
        "https://api.github.com",
        pattern=r"^https?://[^\s]+$",
        description="Base URL of the GitHub REST API (GitHub Enterprise: https://HOST/api/v3)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Extra NotebookRunnerList options of every CI run (image, user_options, timeouts);"
            " repo_url, repo_ref and collection_rules are set by the job"
        ),
    )
    timeout: HumanTimedelta = Field(
        timedelta(hours=1), description="Longest run of one job's notebooks"
    )

    @model_validator(mode="before")
    @classmethod
    def _env(cls, data: Any) -> Any:
        return cls._from_env(
            data,
            {
                "id": "MOBU_GITHUB_CI_APP_ID",
                "private_key": "MOBU_GITHUB_CI_APP_PRIVATE_KEY",
                "webhook_secret": "MOBU_GITHUB_CI_APP_WEBHOOK_SECRET",
            },
        )

    @model_validator(mode="after")
    def _check(self) -> Self:
        missing = [
            variable
            for value, variable in (
                (self.id, "MOBU_GITHUB_CI_APP_ID"),
                (self.private_key, "MOBU_GITHUB_CI_APP_PRIVATE_KEY"),
                (self.webhook_secret, "MOBU_GITHUB_CI_APP_WEBHOOK_SECRET"),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"githubCiApp needs {', '.join(missing)}")
        if not self.users:
            raise ValueError("githubCiApp needs at least one user in users")
        return self
