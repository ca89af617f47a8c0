"""Per-cell overhead: the notebook runner (through hub, proxy, lab websocket) vs nbclient.

The same 20-cell notebook of trivial cells is run by ``NotebookRunnerCounting`` against a local
JupyterHub (labs with TCP_NODELAY websockets) and by nbclient on a local kernel (ZMQ, no
server). Trivial cells make the per-cell time almost all overhead.

Usage: ``python bench/jupyter_notebook.py [--runs 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyter_common import describe, mobu_context, save

from mobu.models.flock import FlockConfig
from mobu.platform.hub import LocalHub

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


def nbclient_per_cell(runs: int) -> list[float]:
    """Per-cell seconds of nbclient on one live kernel, ``runs`` times the notebook."""
    nb = make_notebook()
    client = NotebookClient(nb, kernel_name="python3", timeout=60)
    per_cell: list[float] = []
    with client.setup_kernel():
        for run in range(runs + 1):
            for index, cell in enumerate(nb.cells):
                start = time.perf_counter()
                client.execute_cell(cell, index)
                if run:  # the first run warms the kernel up
                    per_cell.append(time.perf_counter() - start)
    return per_cell


async def runner_per_cell(runs: int) -> tuple[list[float], list[float]]:
    """Per-cell seconds of NotebookRunnerCounting: cell event durations and notebook wall/20."""
    folder = Path(tempfile.mkdtemp(prefix="mobu-bench-nb-"))
    nbformat.write(make_notebook(), folder / "bench.ipynb")
    hub = LocalHub(nodelay=True)
    await asyncio.to_thread(hub.start)
    try:
        async with mobu_context(hub) as (context, sink):
            flock = FlockConfig.model_validate(
                {
                    "name": "nb",
                    "count": 1,
                    "users": [{"username": "bot-mobu-nbbench"}],
                    "business": {
                        "type": "NotebookRunnerCounting",
                        "options": {
                            "repo_url": str(folder),
                            "max_executions": runs + 1,
                            "execution_idle_time": 0,
                            "notebook_idle_time": 0,
                            "spawn_settle_time": 0,
                            "idle_time": 3600,
                            "get_node": False,
                        },
                    },
                }
            )
            await context.manager.start_flock(flock)
            await sink.wait_count("notebook_execution", runs + 1)
            await context.manager.stop_flock("nb")
        cells = [e.duration.total_seconds() for e in sink.payloads("notebook_cell_execution")]  # type: ignore[attr-defined]
        notebooks = [e.duration.total_seconds() for e in sink.payloads("notebook_execution")]  # type: ignore[attr-defined]
        return cells[CELLS:], [n / CELLS for n in notebooks[1:]]
    finally:
        await asyncio.to_thread(hub.stop)
        hub.cleanup()


def main(runs: int) -> None:
    local = nbclient_per_cell(runs)
    cells, walls = asyncio.run(runner_per_cell(runs))
    result = {
        "benchmark": "jupyter_notebook",
        "cells": CELLS,
        "runs": runs,
        "nbclient_per_cell": describe(local),
        "runner_cell_execute": describe(cells),
        "runner_notebook_wall_per_cell": describe(walls),
    }
    result["ratio_per_cell_mean"] = round(statistics.fmean(walls) / statistics.fmean(local), 2)
    save("jupyter_notebook", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    main(parser.parse_args().runs)
