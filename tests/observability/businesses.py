"""Businesses for the observability tests: failures with notebook context, then recovery."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from typing_extensions import override

from mobu.events import EventBase
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessOptions
from mobu.services.business.base import Business


class NotebookLikeEvent(EventBase):
    """A notebook execution (the reference's field names)."""

    notebook: str
    success: bool
    duration: timedelta | None = None


class CellError(BusinessError):
    """A cell failed."""


class FlakyOptions(BusinessOptions):
    """Options of Flaky."""

    failures: int = Field(1, description="Fail this many executions, then succeed")
    code_lines: int = Field(3, description="Lines of code in the failure context")


class Flaky(Business[FlakyOptions]):
    """Fails like a notebook cell a given number of times (with full context), then succeeds."""

    options_model = FlakyOptions

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.executions = 0
        self._publisher = self.events.publisher("notebook_like", NotebookLikeEvent)

    @override
    async def execute(self) -> None:
        self.executions += 1
        failing = self.executions <= self.options.failures
        await self._publisher.publish(
            NotebookLikeEvent(
                **self.common_event_attrs(),
                notebook="tutorials/01-intro.ipynb",
                success=not failing,
                duration=timedelta(milliseconds=10 + self.executions % 7),
            )
        )
        if failing:
            code = "\n".join(f"x{i} = compute({i})" for i in range(self.options.code_lines))
            raise CellError(
                f"cell failed for token {self.user.token}: \x1b[31mZeroDivisionError\x1b[0m",
                notebook="tutorials/01-intro.ipynb",
                cell="cell-7",
                phase="execute_cell",
                node="node-a",
                image_reference="lab:w_2026_47",
                code=code,
                spawn_log=["Spawning server...", "Pulling image", "Server ready"],
            )
