"""NotebookRunnerList: run every runnable notebook once per lab session."""

from __future__ import annotations

from collections.abc import Iterable

from typing_extensions import override

from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.services.business.notebookrunner import NotebookRunner

__all__ = ["NotebookRunnerList"]


class NotebookRunnerList(NotebookRunner[NotebookRunnerOptions]):
    """Run each runnable notebook once per lab session (as CI does)."""

    options_model = NotebookRunnerOptions

    @override
    def iterations(self) -> Iterable[int]:
        return range(len(self.notebooks))

    @override
    def total_label(self) -> str:
        return str(len(self.notebooks))
