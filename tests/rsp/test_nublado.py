"""The nublado hub flavour (rubin-nublado-client) against the local hub shaped like Nublado's."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobu.services.business.flavour import NubladoFlavourHelper
from mobu.services.business.notebookrunner import NotebookExecution
from mobu.services.business.nubladopythonloop import NubladoPythonExecution
from tests.jupyter.conftest import make_git_repo
from tests.jupyter.notebooks import notebook
from tests.jupyter.support import FAST, start, wait_events, wait_until
from tests.rsp.conftest import Platform, rsp_context
from tests.rsp.support import assert_nothing_left
from tests.support.hubs import needs_hub

pytestmark = [pytest.mark.jupyter, needs_hub]

SCOPES = ["exec:notebook", "read:image", "read:tap"]


async def test_python_loop_flock_through_nublado_client(rsp: Platform) -> None:
    """Three NubladoPythonLoop monkeys spawn from the image menu, run code, delete their labs."""
    image = {"class": "latest-weekly", "size": "Small"}
    options = {**FAST, "max_executions": 2, "image": image, "delete_lab": False}
    async with rsp_context(rsp) as (context, events, failures):
        flock = await start(
            context, name="nb", count=3, user_spec={"username_prefix": "bot-mobu-nb"},
            scopes=SCOPES, business={"type": "NubladoPythonLoop", "options": options},
        )  # fmt: skip
        users = {f"bot-mobu-nb{i}" for i in (1, 2, 3)}
        executions = await wait_until(
            events, "nublado_python_execution", lambda p: {e.username for e in p} == users
        )
        assert all(isinstance(e, NubladoPythonExecution) and e.success for e in executions)
        business = flock.monkeys[0].business
        assert isinstance(business.lab, NubladoFlavourHelper)  # type: ignore[attr-defined]
        assert business.lab.kernel_name == "lsst"  # type: ignore[attr-defined]
        data = flock.dump().monkeys[0].business.model_dump()
        assert data["image"]["reference"] == "local/sciplat-lab:latest-weekly"
        assert "(Small)" in data["image"]["description"]
        assert {"spawn", "step.lab_login", "step.session_create", "execute"} <= set(data["timings"])
        requests = rsp.gafaelfawr.service.requests
        assert {r["username"] for r in requests} == {f"bot-mobu-nb{i}" for i in (1, 2, 3)}
        assert all(r["scopes"] == SCOPES for r in requests)
        dumped = str(flock.dump().model_dump())
        assert all(m.token not in dumped for m in rsp.gafaelfawr.service.minted)
        await context.manager.stop_flock("nb")
        assert failures.reports == []
    await assert_nothing_left(rsp, {f"bot-mobu-nb{i}" for i in (1, 2, 3)})


async def test_revoked_token_fails_clearly_through_nublado(rsp: Platform) -> None:
    """A revoked token: each hub login (also after a restart) is refused with the hub's status."""
    options = {**FAST, "max_executions": 1}
    async with rsp_context(rsp) as (context, events, failures):
        await start(
            context, name="nbrv", count=1, user_spec={"username_prefix": "bot-mobu-nbrv"},
            scopes=SCOPES,
            business={"type": "NubladoPythonLoop", "options": options, "restart": True},
        )  # fmt: skip
        await wait_events(events, "nublado_delete_lab", 1)
        [minted] = rsp.gafaelfawr.service.tokens_of("bot-mobu-nbrv1")
        await rsp.gafaelfawr.service.revoke(minted)
        reports = await failures.wait_for(2)  # the restarted monkey logs in afresh, refused again
        for report in reports:
            assert report.monkey == "bot-mobu-nbrv1"
            assert "Status 40" in str(report.error)
            assert minted.token not in str(report.error)
            assert minted.token not in str(report.context)
        await context.manager.stop_flock("nbrv")
    await assert_nothing_left(rsp, {"bot-mobu-nbrv1"})


async def test_counting_notebook_runner_through_nublado(rsp: Platform, tmp_path: Path) -> None:
    """NotebookRunnerCounting runs the notebooks Repertoire's applications allow, cell by cell."""
    origin = make_git_repo(
        tmp_path / "repo",
        {
            "one.ipynb": notebook("x = 1", "print(x + 1)"),
            "portal.ipynb": notebook("1", metadata={"mobu": {"required_applications": ["x"]}}),
        },
    )
    options = {**FAST, "repo_url": str(origin), "repo_ref": "main", "max_executions": 2}
    async with rsp_context(rsp) as (context, events, failures):
        assert context.discovery.applications == {"nublado", "tap", "sia"}
        await start(
            context, name="nbc", count=1, user_spec={"username_prefix": "bot-mobu-nbc"},
            scopes=SCOPES, business={"type": "NotebookRunnerCounting", "options": options},
        )  # fmt: skip
        executions = await wait_events(events, "notebook_execution", 2)
        assert all(isinstance(e, NotebookExecution) and e.success for e in executions)
        assert {e.notebook for e in executions} == {"one.ipynb"}  # type: ignore[attr-defined]
        cells = events.recorder.published("notebook_cell_execution")  # type: ignore[union-attr]
        assert cells
        assert all(e.success for e in cells)  # type: ignore[attr-defined]
        await context.manager.stop_flock("nbc")
        assert failures.reports == []
    await assert_nothing_left(rsp, {"bot-mobu-nbc1"})
