"""Notebook execution at the floor: the notebook runner vs a minimal client on the same path.

Both execute the same 20-cell notebook of trivial cells over the same hub → proxy → lab
websocket path of one local JupyterHub (labs with TCP_NODELAY websockets), in alternating
blocks of the same run. The floor (``minimal_block``) is the least a client can do: one kernel
session, then per notebook read the ``.ipynb`` JSON and per code cell pack a v1 frame, send it
and unpack frames until its reply and idle arrive. The runner is ``NotebookRunnerCounting``
(the real engine: cell and notebook events, per-monkey logging, pauses of 0).

Reported separately (issue 17, part 2):

* **per cell**: the wall time between consecutive cells of one notebook (runner: between its
  consecutive ``notebook_cell_execution`` events; floor: each cell's round trip);
* **per notebook**: the time between the last cell of a notebook and the first cell of the
  next one, beyond one cell's wall (runner: notebook event, pause, reading the notebook, log
  lines; floor: reading the notebook).

Usage: ``python bench/jupyter_notebook.py [--notebooks 10] [--blocks 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nbformat
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyter_common import describe, mobu_context, save
from jupyter_execute import V1, _pack, _unpack

from mobu.models.flock import FlockConfig
from mobu.platform.hub import LocalHub
from mobu.storage.jupyter import HubClient

CELLS = 20


def make_notebook() -> nbformat.NotebookNode:
    """20 trivial code cells: assignments, prints and expressions."""
    cells = []
    for i in range(CELLS):
        source = [f"x{i} = {i}", f"print({i})", f"{i} * 2"][i % 3]
        cells.append(nbformat.v4.new_code_cell(source))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


async def _execute(ws: ClientConnection, user: str, code: str) -> None:
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": "b",
              "username": user, "version": "5.4", "date": ""}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": False}  # fmt: skip
    await ws.send(
        _pack({"header": header, "parent_header": {}, "metadata": {}, "content": content})
    )
    reply = idle = False
    while not (reply and idle):
        kind, parent, body = _unpack(await ws.recv())  # type: ignore[arg-type]
        if parent.get("msg_id") != msg_id:
            continue
        reply = reply or kind == "execute_reply"
        idle = idle or (kind == "status" and body["execution_state"] == "idle")


async def minimal_block(
    hub: LocalHub, token: str, user: str, path: Path, notebooks: int
) -> tuple[list[float], list[float]]:
    """Run the notebook ``notebooks`` + 1 times in one session: (per-cell s, between-notebook s)."""
    headers = {"Authorization": f"token {token}"}
    base = f"{hub.url}user/{user}/"
    cells: list[float] = []
    between: list[float] = []
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        session = (await http.post(f"{base}api/sessions", headers=headers, json={
            "path": "bench.ipynb", "type": "notebook", "name": "bench",
            "kernel": {"name": "python3"}})).json()  # fmt: skip
        url = base.replace("http", "ws", 1) + f"api/kernels/{session['kernel']['id']}/channels"
        async with connect(url, subprotocols=[V1], additional_headers=headers,  # type: ignore[list-item]
                           proxy=None, max_size=None, compression=None) as ws:  # fmt: skip
            last = None
            for run in range(notebooks + 1):
                start = time.perf_counter()
                sources = [c["source"] for c in json.loads(path.read_text())["cells"]
                           if c["cell_type"] == "code"]  # fmt: skip
                stamps = []
                for source in sources:
                    await _execute(ws, user, source)
                    stamps.append(time.perf_counter())
                if run:  # the first notebook warms the kernel up
                    gaps = [b - a for a, b in itertools.pairwise(stamps)]
                    cells += gaps
                    assert last is not None
                    between.append(stamps[0] - last - statistics.median(gaps))
                last = stamps[-1]
                del start
        await http.delete(f"{base}api/sessions/{session['id']}", headers=headers)
    return cells, between


async def runner_block(
    context: Any, sink: Any, name: str, folder: Path, notebooks: int
) -> tuple[list[float], list[float]]:
    """NotebookRunnerCounting, ``notebooks`` + 1 notebooks in one session: same figures."""
    before = len(sink.times("notebook_cell_execution"))
    flock = FlockConfig.model_validate({
        "name": name, "count": 1, "users": [{"username": "bot-mobu-nbbench"}],
        "business": {"type": "NotebookRunnerCounting", "options": {
            "repo_url": str(folder), "max_executions": notebooks + 1, "execution_idle_time": 0,
            "notebook_idle_time": 0, "spawn_settle_time": 0, "idle_time": 3600,
            "get_node": False, "delete_lab": False}}})  # fmt: skip
    await context.manager.start_flock(flock)
    await sink.wait_count("notebook_cell_execution", before + (notebooks + 1) * CELLS)
    await context.manager.stop_flock(name)
    stamps = sink.times("notebook_cell_execution")[before : before + (notebooks + 1) * CELLS]
    cells: list[float] = []
    between: list[float] = []
    for run in range(1, notebooks + 1):
        mine = stamps[run * CELLS : (run + 1) * CELLS]
        gaps = [b - a for a, b in itertools.pairwise(mine)]
        cells += gaps
        between.append(mine[0] - stamps[run * CELLS - 1] - statistics.median(gaps))
    return cells, between


async def main(notebooks: int, blocks: int) -> None:
    """Alternate blocks of the floor and the runner against one hub; save the figures."""
    folder = Path(tempfile.mkdtemp(prefix="mobu-bench-nb-"))
    nbformat.write(make_notebook(), folder / "bench.ipynb")
    hub = LocalHub(nodelay=True)
    await asyncio.to_thread(hub.start)
    try:
        async with (
            mobu_context(hub) as (context, sink),
            httpx.AsyncClient(trust_env=False, timeout=60) as http,
        ):
            admin = HubClient(hub.url, hub.admin_token, http=http)
            user = "bot-mobu-minimal"
            await admin.ensure_user(user)
            token = (await admin.mint_token(user, note="b", expires_in=None, scopes=None)).token
            client = HubClient(hub.url, token, http=http)
            if not await client.spawn(user):
                async for event in client.progress(user):
                    if event.ready:
                        break
            floor: tuple[list[float], list[float]] = ([], [])
            ours: tuple[list[float], list[float]] = ([], [])
            for block in range(blocks):
                for into, got in (
                    (floor, await minimal_block(hub, token, user, folder / "bench.ipynb",
                                                notebooks)),
                    (ours, await runner_block(context, sink, f"nb{block}", folder, notebooks)),
                ):  # fmt: skip
                    into[0].extend(got[0])
                    into[1].extend(got[1])
            await client.stop(user)
        result: dict[str, Any] = {
            "benchmark": "jupyter_notebook", "cells": CELLS, "notebooks_per_block": notebooks,
            "blocks": blocks, "floor_per_cell": describe(floor[0]),
            "runner_per_cell": describe(ours[0]), "floor_per_notebook": describe(floor[1]),
            "runner_per_notebook": describe(ours[1]),
        }  # fmt: skip
        for stat in ("median_ms", "mean_ms"):
            result[f"ratio_per_cell_{stat[:-3]}"] = round(
                result["runner_per_cell"][stat] / result["floor_per_cell"][stat], 3
            )
        save("jupyter_notebook", result)
    finally:
        await asyncio.to_thread(hub.stop)
        hub.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.notebooks, args.blocks))
