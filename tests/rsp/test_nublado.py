"""The nublado hub flavour (rubin-nublado-client) against the local hub shaped like Nublado's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.business.nublado import NubladoPythonLoopOptions
from mobu.models.user import AuthenticatedUser
from mobu.platform.gafaelfawr import run_gafaelfawr
from mobu.platform.repertoire import discovery_document, run_repertoire
from mobu.platform.rsp import RspHub
from mobu.services.business.flavour import NubladoFlavourHelper
from mobu.services.business.notebookrunner import NotebookExecution
from mobu.services.business.nubladopythonloop import NubladoPythonExecution, NubladoPythonLoop
from tests.jupyter.conftest import CHP, make_git_repo, needs_hub, remember_processes
from tests.jupyter.notebooks import notebook
from tests.jupyter.support import FAST, WAIT, start, wait_events, wait_until
from tests.jupyter.test_stops import WatchedPythonLoop
from tests.rsp.conftest import Platform, rsp_context
from tests.support.stopping import HANG_BOUND, PATIENT_GRACE

pytestmark = [pytest.mark.jupyter, needs_hub]

SCOPES = ["exec:notebook", "read:image", "read:tap"]


@pytest.fixture(scope="module")
def nublado_hub() -> Iterator[RspHub]:
    """The HTTPS hub with the Nublado spawn form, bearer login, lab page and lsst kernel."""
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    local = RspHub(chp=CHP)
    local.start()
    try:
        yield local
    finally:
        remember_processes(local.processes())
        local.stop()
        local.cleanup()


@pytest.fixture
async def rsp(nublado_hub: RspHub, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    """Token service and Repertoire for the HTTPS hub; clients trust the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(nublado_hub.ca.ca_path))
    verify = nublado_hub.ca.ssl_context()
    async with run_gafaelfawr(
        nublado_hub.url, nublado_hub.admin_token, hub_verify=verify
    ) as gafaelfawr:
        document = discovery_document(hub_url=nublado_hub.url, gafaelfawr_url=gafaelfawr.base_url)
        async with run_repertoire(document) as repertoire:
            yield Platform(nublado_hub, gafaelfawr, repertoire)


async def _assert_labs_exit(platform: Platform, prefix: str) -> None:
    """Every lab and kernel process of ``prefix`` users exits (a stop at shutdown is not waited
    for by the monkey, so the hub may still be reaping them): waits on the exits, not a sleep."""
    labs = [p for p in platform.hub.user_processes() if f"/homes/{prefix}" in p.cwd()]
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, labs, WAIT)
    assert alive == []


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
    await _assert_labs_exit(rsp, "bot-mobu-nb")


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
    await _assert_labs_exit(rsp, "bot-mobu-nbrv")


async def test_stop_during_hung_cell_within_grace(rsp: Platform) -> None:
    """A stop while the lab runs code that never ends stops the monkey by itself."""
    options = {**FAST, "code": "import time\ntime.sleep(10**6)", "execution_timeout": "1h"}
    grace = PATIENT_GRACE.total_seconds()
    async with rsp_context(rsp, stop_grace=grace) as (context, _events, failures):
        context.registry.register("WatchedPythonLoop", WatchedPythonLoop)
        flock = await start(
            context, name="nbhung", count=1, users=[{"username": "bot-mobu-nbhung"}],
            scopes=SCOPES, business={"type": "WatchedPythonLoop", "options": options},
        )  # fmt: skip
        monkey = flock.monkeys[0]
        business = monkey.business
        assert isinstance(business, WatchedPythonLoop)
        async with asyncio.timeout(WAIT):
            await business.code_started.wait()
        async with asyncio.timeout(HANG_BOUND):  # only a hang reaches it; the grace is 600 s
            await monkey.stop()
        assert monkey.state == "FINISHED"
        await context.manager.stop_flock("nbhung")
        assert failures.reports == []
    await _assert_labs_exit(rsp, "bot-mobu-nbhung")


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
    await _assert_labs_exit(rsp, "bot-mobu-nbc")


class LoginWatchedLoop(NubladoPythonLoop):
    """The real Python loop, which also tells tests when its lab login starts."""

    def __init__(
        self,
        *,
        options: NubladoPythonLoopOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_client: httpx.AsyncClient,
        discovery: Discovery,
    ) -> None:
        super().__init__(
            options=options, user=user, events=events, logger=logger, flock=flock,
            http_client=http_client, discovery=discovery,
        )  # fmt: skip
        self.in_login = asyncio.Event()
        step = self.lab.step

        def watched(phase: str, timeout: timedelta | None = None) -> Any:
            if phase == "lab_login":
                self.in_login.set()
            return step(phase, timeout)

        self.lab.step = watched  # type: ignore[method-assign]


async def test_stop_during_hung_lab_login_within_grace(rsp: Platform) -> None:
    """A stop while the lab login never answers stops the monkey by itself; the lab is deleted."""
    grace = PATIENT_GRACE.total_seconds()
    async with rsp_context(rsp, stop_grace=grace) as (context, _events, failures):
        context.registry.register("LoginWatchedLoop", LoginWatchedLoop)
        flock = await start(
            context, name="nbhl", count=1, users=[{"username": "bot-mobu-hanglab"}],
            scopes=SCOPES, business={"type": "LoginWatchedLoop", "options": {**FAST}},
        )  # fmt: skip
        monkey = flock.monkeys[0]
        business = monkey.business
        assert isinstance(business, LoginWatchedLoop)
        async with asyncio.timeout(WAIT):
            await business.in_login.wait()
        async with asyncio.timeout(HANG_BOUND):  # only a hang reaches it; the grace is 600 s
            await monkey.stop()
        assert monkey.state == "FINISHED"
        await context.manager.stop_flock("nbhl")
        assert failures.reports == []
    await _assert_labs_exit(rsp, "bot-mobu-hanglab")
