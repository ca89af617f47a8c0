"""Options of the notebook runners."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SerializationInfo, field_serializer

from mobu.models.business.nublado import NubladoBusinessOptions
from mobu.models.secrets import serialize_secret_url
from mobu.models.timedelta import HumanTimedelta
from mobu.services.notebooks import CollectionRule

__all__ = ["NotebookRunnerCountingOptions", "NotebookRunnerOptions"]


class NotebookRunnerOptions(NubladoBusinessOptions):
    """Options shared by NotebookRunnerCounting, NotebookRunnerList and NotebookRunnerInfinite."""

    repo_url: str = Field(
        "https://github.com/lsst-sqre/notebook-demo.git",
        description="Git URL, file:// URL or local path of the notebook repository",
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
        description="Longest time one cell may run; it then fails its notebook. null: no limit",
    )

    @field_serializer("repo_url")
    def _mask_repo_password(self, value: str, info: SerializationInfo) -> str:
        """A password in the repository URL's userinfo is a secret: shown masked."""
        return serialize_secret_url(value, info)


class NotebookRunnerCountingOptions(NotebookRunnerOptions):
    """Options of NotebookRunnerCounting."""

    max_executions: int = Field(25, ge=1, description="Notebooks run per lab session")
