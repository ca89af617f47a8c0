"""NotebookRunnerCounting: run a fixed number of notebooks per lab session."""

from __future__ import annotations

from collections.abc import Iterable

from typing_extensions import override

from mobu.models.business.notebookrunner import NotebookRunnerCountingOptions
from mobu.services.business.notebookrunner import NotebookRunner

__all__ = ["NotebookRunnerCounting"]


class NotebookRunnerCounting(NotebookRunner[NotebookRunnerCountingOptions]):
    """Run max_executions notebooks per lab session, continuing the shuffled cycle."""

    options_model = NotebookRunnerCountingOptions

    @override
    def iterations(self) -> Iterable[int]:
        return range(self.options.max_executions)

    @override
    def total_label(self) -> str:
        return str(self.options.max_executions)
