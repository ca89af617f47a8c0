"""NotebookRunnerInfinite: keep one lab session and run notebooks until stopped."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from typing_extensions import override

from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.services.business.notebookrunner import NotebookRunner

__all__ = ["NotebookRunnerInfinite"]


class NotebookRunnerInfinite(NotebookRunner[NotebookRunnerOptions]):
    """Run notebooks in one never-ending lab session, until stop or refresh."""

    options_model = NotebookRunnerOptions

    @override
    def iterations(self) -> Iterable[int]:
        return itertools.count()
