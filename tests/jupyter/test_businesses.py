"""NubladoPythonLoop and the notebook runners end to end against a real JupyterHub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from mobu.events import EventBase
from mobu.platform.hub import LocalHub
from mobu.services.business.notebookrunner import (
    NotebookCellFailure,
    NotebookExecution,
    NotebookFailure,
)
from mobu.services.business.nubladopythonloop import NubladoPythonExecution
from mobu.storage.jupyter import HubClient
from tests.jupyter.conftest import commit_file, make_git_repo, needs_hub
from tests.jupyter.notebooks import notebook
from tests.jupyter.support import (
    FAST,
    WatchedNotebookRunner,
    running,
    start,
    wait_events,
    wait_until,
)
from tests.support.hubs import left_running, remember_processes

pytestmark = [pytest.mark.jupyter, needs_hub]


async def test_python_loop_flock(hub: LocalHub) -> None:
    """A JupyterPythonLoop flock spawns, executes, times and deletes labs, leaving no process."""
    options = {
        **FAST,
        "code": "print(6*7)",
        "max_executions": 3,
        "working_directory": "/tmp",
        "image": {"class": "latest-weekly", "size": "Small"},
    }
    async with running(hub) as (context, events, failures):
        flock = await start(
            context,
            name="py",
            count=2,
            user_spec={"username_prefix": "bot-mobu-py"},
            business={"type": "JupyterPythonLoop", "options": options},
        )
        await wait_events(events, "nublado_delete_lab", 2)
        executions = await wait_events(events, "nublado_python_execution", 6)
        assert all(isinstance(e, NubladoPythonExecution) and e.success for e in executions)
        assert {e.username for e in executions} == {"bot-mobu-py1", "bot-mobu-py2"}
        assert all(e.success for e in await wait_events(events, "nublado_spawn_lab", 2))
        data = flock.dump().monkeys[0].business.model_dump()
        assert data["name"] == "NubladoPythonLoop"
        assert data["node"]  # the hostname, as no KUBERNETES_NODE_NAME is set
        assert {"spawn", "session_create", "websocket_open", "execute", "lab_delete"} <= set(
            data["timings"]
        )
        assert "token" not in str(flock.dump().model_dump())
        await context.manager.stop_flock("py")
        assert failures.reports == []
    assert await left_running(hub, "bot-mobu-py") == []


async def test_counting_runner_shares_clone_and_refreshes(hub: LocalHub, tmp_path: Path) -> None:
    """Two monkeys share one clone; a refresh re-clones it once and each monkey runs the new one."""
    origin = make_git_repo(
        tmp_path / "repo",
        {
            "one.ipynb": notebook(("markdown", "# one"), "x = 1", "print(x + 1)"),
            "two.ipynb": notebook("import sys", "sys.version_info[:2]"),
            "drafts/skip.ipynb": notebook("raise SystemExit('excluded')"),
            "needs.ipynb": notebook("1", metadata={"mobu": {"required_applications": ["portal"]}}),
            "mobu.yaml": (
                "collection_rules:\n  - type: exclude_union_of\n    patterns: ['drafts/**']\n"
            ),
        },
    )
    options = {
        **FAST,
        "repo_url": str(origin),
        "repo_ref": "main",
        "max_executions": 2,
        "delete_lab": False,
        "user_options": {"profile": "tiny"},
    }
    async with running(hub, applications=["tap"]) as (context, events, failures):
        flock = await start(
            context,
            name="nb",
            count=2,
            user_spec={"username_prefix": "bot-mobu-nb"},
            business={"type": "NotebookRunnerCounting", "options": options},
        )

        def per_user(name: str, found: list[EventBase]) -> list[EventBase]:
            return [e for e in found if e.username == name]

        first = await wait_until(
            events,
            "notebook_execution",
            lambda found: all(len(per_user(f"bot-mobu-nb{i}", found)) >= 2 for i in (1, 2)),
        )
        assert context.repo_cache.clones == 1
        for i in (1, 2):  # each cycle runs every notebook once, in shuffled order
            cycle = per_user(f"bot-mobu-nb{i}", first)[:2]
            assert {e.notebook for e in cycle} == {"one.ipynb", "two.ipynb"}  # type: ignore[attr-defined]
        assert all(isinstance(e, NotebookExecution) and e.success for e in first)
        cells = events.recorder.published("notebook_cell_execution")  # type: ignore[union-attr]
        pairs = {(e.notebook, e.cell_id) for e in cells}  # type: ignore[attr-defined]
        assert pairs >= {("one.ipynb", "c2"), ("one.ipynb", "c3"), ("two.ipynb", "c1")}
        assert all(e.repo == str(origin) and len(e.repo_hash) == 40 for e in first)
        admin = HubClient(hub.url, hub.admin_token, http=context.services.http_client)
        model = await admin.get_user("bot-mobu-nb1")
        assert model is not None
        assert model["servers"][""]["user_options"] == {"profile": "tiny"}

        commit_file(origin, "three.ipynb", notebook("print('new')"))
        context.manager.refresh_flock("nb")
        old_hashes = {e.repo_hash for e in first}  # type: ignore[attr-defined]

        def refreshed(found: list[EventBase]) -> bool:
            # A monkey runs a notebook of the new clone only once its own refresh is done.
            new = [e for e in found if e.repo_hash not in old_hashes]  # type: ignore[attr-defined]
            return any(e.notebook == "three.ipynb" for e in new) and all(  # type: ignore[attr-defined]
                per_user(f"bot-mobu-nb{i}", new) for i in (1, 2)
            )

        latest = await wait_until(events, "notebook_execution", refreshed)
        assert context.repo_cache.clones == 2  # re-cloned once for both monkeys
        assert all(e.success for e in latest)
        assert not any(m.business.refreshing for m in flock.monkeys)
        await context.manager.stop_flock("nb")
        assert failures.reports == []
    assert await left_running(hub, "bot-mobu-nb") == []


async def test_failing_cell_is_named(hub: LocalHub, tmp_path: Path) -> None:
    """A failing cell's notebook, id, number, code and error reach the alert, events and log."""
    origin = make_git_repo(
        tmp_path / "repo",
        {
            "bad.ipynb": notebook(
                ("markdown", "m"), "x = 1", "def f():\n    raise ValueError('boom')\nf()"
            ),
        },
    )
    options = {**FAST, "repo_url": str(origin), "repo_ref": "main"}
    async with running(hub) as (context, events, failures):
        flock = await start(
            context,
            name="bad",
            count=1,
            users=[{"username": "bot-mobu-bad"}],
            business={"type": "NotebookRunnerList", "options": options, "restart": False},
        )
        [report] = await failures.wait_for(1)
        context_ = report.context
        assert context_["notebook"] == "bad.ipynb"
        assert (context_["cell_id"], context_["cell_number"]) == ("c3", 2)
        assert "raise ValueError('boom')" in context_["code"]
        assert "ValueError: boom" in context_["error"]
        assert "\x1b[" not in context_["error"]
        assert context_["node"]  # the lab's host name (get_node), for the Sentry/Slack tags
        assert "c3" in str(report.error)
        assert "ValueError: boom" in str(report.error)
        [cell] = [e for e in events.recorder.published("notebook_cell_execution") if not e.success]  # type: ignore[union-attr]
        assert isinstance(cell, NotebookCellFailure)
        assert (cell.cell_id, cell.cell_number) == ("c3", 2)
        assert "ValueError: boom" in cell.error
        [nb] = await wait_events(events, "notebook_execution")
        assert isinstance(nb, NotebookFailure)
        assert not nb.success
        assert nb.cell_id == "c3"
        monkey = flock.monkeys[0]
        assert monkey.log is not None
        log = monkey.log.text()
        assert "ValueError: boom" in log
        assert "c3" in log
        assert monkey.business.dump().model_dump()["running_code"].endswith("f()")
        await context.manager.stop_flock("bad")
    assert await left_running(hub, "bot-mobu-bad") == []


async def test_hung_cell_timeout_and_stop(hub: LocalHub, tmp_path: Path) -> None:
    """cell_timeout fails a slow cell; a stop ends a hung cell within the grace."""
    origin = make_git_repo(
        tmp_path / "repo",
        {
            "hang.ipynb": notebook("print('start')", "import time\ntime.sleep(10**6)"),
        },
    )
    base = {**FAST, "repo_url": str(origin), "repo_ref": "main"}
    async with running(hub, stop_grace=600) as (context, events, failures):  # only a hang
        await start(
            context,
            name="slow",
            count=1,
            users=[{"username": "bot-mobu-slow"}],
            business={
                "type": "NotebookRunnerCounting",
                "restart": False,
                "options": {**base, "cell_timeout": 3},
            },
        )
        await start(
            context,
            name="hang",
            count=1,
            users=[{"username": "bot-mobu-hang"}],
            business={"type": "WatchedNotebookRunner", "options": {**base, "cell_timeout": None}},
        )
        [report] = await failures.wait_for(1)
        assert report.monkey == "bot-mobu-slow"
        assert "did not finish within 3s" in report.context["error"]
        assert report.context["cell_number"] == 2
        monkey = context.manager.get_flock("hang").monkeys[0]
        business = monkey.business
        assert isinstance(business, WatchedNotebookRunner)
        await business.wait_for_cell(2)  # the hanging cell is running now
        assert business.running_code == "import time\ntime.sleep(10**6)"
        assert business.dump().model_dump()["notebook"] == "hang.ipynb"
        cells = events.recorder.published("notebook_cell_execution")  # type: ignore[union-attr]
        assert any(e.username == "bot-mobu-hang" and e.success for e in cells)
        async with asyncio.timeout(120):  # a safety net only; the real check follows
            await monkey.stop()
        assert monkey.state == "FINISHED"
        assert monkey.log is not None
        log = monkey.log.text()
        assert "Iteration interrupted by stop" in log  # acknowledged within the grace...
        assert "did not stop within grace period" not in log  # ...so never cancelled
        await context.manager.stop_flock("hang")
        await context.manager.stop_flock("slow")
        assert len(failures.reports) == 1
    assert await left_running(hub, "bot-mobu-hang") == []
    assert await left_running(hub, "bot-mobu-slow") == []


async def test_hub_down_at_startup_then_recovers(http: httpx.AsyncClient) -> None:
    """A monkey whose hub is down at startup reports it, then succeeds once it is up."""
    down = LocalHub()
    down.start()
    try:
        admin = HubClient(down.url, down.admin_token, http=http)
        await admin.ensure_user("bot-mobu-down")
        minted = await admin.mint_token("bot-mobu-down", note="t", expires_in=None, scopes=None)
        remember_processes(down.processes())
        down.stop()  # same port and database when it comes back
        identity = {"provider": "static", "tokens": {"bot-mobu-down": minted.token}}
        options = {**FAST, "max_executions": 1, "error_idle_time": 2}
        async with running(down, identity=identity) as (context, events, failures):
            await start(
                context,
                name="down",
                count=1,
                users=[{"username": "bot-mobu-down"}],
                business={"type": "NubladoPythonLoop", "options": options, "restart": True},
            )
            [report] = (await failures.wait_for(1))[:1]
            assert report.context["phase"] == "hub_status"
            assert minted.token not in str(report.error)
            down.start()
            [execution] = (await wait_events(events, "nublado_python_execution"))[:1]
            assert execution.success
            monkey = context.manager.get_flock("down").monkeys[0]
            assert monkey.business.failure_count >= 1
            await context.manager.stop_flock("down")
    finally:
        remember_processes(down.processes())
        down.stop()
        down.cleanup()
