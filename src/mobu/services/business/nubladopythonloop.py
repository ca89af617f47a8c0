"""NubladoPythonLoop: run a piece of Python code repeatedly in a JupyterHub lab."""

from __future__ import annotations

from datetime import timedelta

from typing_extensions import override

from mobu.events import TimedEvent
from mobu.models.business.nublado import NubladoPythonLoopOptions
from mobu.services.business.nublado import NubladoBusiness
from mobu.storage.jupyter import LabClient, LabSession

__all__ = ["NubladoPythonExecution", "NubladoPythonLoop"]


class NubladoPythonExecution(TimedEvent):
    """``nublado_python_execution``: one execution of code in a lab."""

    code: str


class NubladoPythonLoop(NubladoBusiness[NubladoPythonLoopOptions]):
    """Run simple Python code in a lab, max_executions times per lab session.

    Also registered as ``JupyterPythonLoop``, its historical name.
    """

    options_model = NubladoPythonLoopOptions

    @override
    async def execute_code(self, lab: LabClient, session: LabSession) -> None:
        executions = self.events.publisher("nublado_python_execution", NubladoPythonExecution)
        code = self.options.code
        for _ in range(self.options.max_executions):
            try:
                result = await self.run_code(code)
            except Exception:
                if not self.stopping:
                    await executions.publish(
                        NubladoPythonExecution(
                            success=False, duration=None, code=code, **self.common_event_attrs()
                        )
                    )
                raise
            self.logger.info("Code executed", code=code, output=result.output)
            await executions.publish(
                NubladoPythonExecution(
                    success=True,
                    duration=timedelta(seconds=result.duration),
                    code=code,
                    **self.common_event_attrs(),
                )
            )
            if not await self.pause(self.options.execution_idle_time):
                break
