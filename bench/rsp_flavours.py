"""Spawn and execution cost of the two hub flavours, side by side, on the same local RSP platform.

Both flavours run a NubladoPythonLoop flock against the same Nublado-shaped hub
(:class:`mobu.platform.rsp.RspHub`: HTTPS, spawn form, bearer login), with tokens minted through
the Gafaelfawr-compatible token service and URLs from Repertoire, in alternating blocks:

- ``jupyterhub``: mobu's own clients (hub REST API with the token, its own kernel client);
- ``nublado``: ``rubin-nublado-client`` (hub login, spawn form, lab login, its session).

Figures: the spawn (``nublado_spawn_lab`` durations: request to ready), the whole lab cycle
(spawn + login + session + executions + delete, between consecutive ``nublado_delete_lab``)
and one ``print(1+1)`` (``nublado_python_execution`` durations).

Usage: ``python bench/rsp_flavours.py [--cycles 3] [--executions 20] [--blocks 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from jupyter_common import TimedSink, describe, save

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig
from mobu.platform.gafaelfawr import run_gafaelfawr
from mobu.platform.repertoire import discovery_document, run_repertoire
from mobu.platform.rsp import RspHub


async def _block(
    flavour: str, number: int, *, token: str, repertoire: str, cycles: int, executions: int
) -> dict[str, list[float]]:
    sink = TimedSink()
    config = Config(
        log_monkeys_to_file=False, gafaelfawr_token=token, repertoire_base_url=repertoire
    )
    context = ProcessContext(config, logger=structlog.get_logger("bench"), events=Events([sink]))
    options = {
        "hub_flavour": flavour, "code": "print(1+1)", "max_executions": executions,
        "spawn_settle_time": 0, "execution_idle_time": 0, "idle_time": 0,
    }  # fmt: skip
    async with context:
        name = f"{flavour}{number}"
        await context.manager.start_flock(
            FlockConfig.model_validate({
                "name": name, "count": 1, "scopes": ["exec:notebook"],
                "user_spec": {"username_prefix": f"bot-mobu-bench-{flavour[:2]}{number}"},
                "business": {"type": "NubladoPythonLoop", "options": options},
            })
        )  # fmt: skip
        async with asyncio.timeout(120 * cycles + 120):
            await sink.wait_count("nublado_delete_lab", cycles)
        await context.manager.stop_flock(name)
    deletes = sink.times("nublado_delete_lab")
    return {
        "spawn": [p.duration.total_seconds() for p in sink.payloads("nublado_spawn_lab")],  # type: ignore[attr-defined]
        "cycle": [b - a for a, b in itertools.pairwise(deletes)],
        "execute": [
            p.duration.total_seconds()  # type: ignore[attr-defined]
            for p in sink.payloads("nublado_python_execution")
        ],
    }


async def main(args: argparse.Namespace) -> None:
    """Run the alternating blocks and print the figures."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    hub = RspHub()
    await asyncio.to_thread(hub.start)
    os.environ["SSL_CERT_FILE"] = str(hub.ca.ca_path)
    figures: dict[str, dict[str, list[float]]] = {
        f: {"spawn": [], "cycle": [], "execute": []} for f in ("jupyterhub", "nublado")
    }
    try:
        async with run_gafaelfawr(
            hub.url, hub.admin_token, hub_verify=hub.ca.ssl_context()
        ) as gafaelfawr:
            document = discovery_document(hub_url=hub.url, gafaelfawr_url=gafaelfawr.base_url)
            async with run_repertoire(document) as repertoire:
                for number in range(args.blocks):
                    for flavour in ("jupyterhub", "nublado"):
                        found = await _block(
                            flavour, number, token=gafaelfawr.service.admin_token,
                            repertoire=repertoire.url, cycles=args.cycles,
                            executions=args.executions,
                        )  # fmt: skip
                        for key, values in found.items():
                            figures[flavour][key].extend(values)
    finally:
        await asyncio.to_thread(hub.stop)
        hub.cleanup()
    result: dict[str, Any] = {
        flavour: {key: describe(values) for key, values in found.items() if values}
        for flavour, found in figures.items()
    }
    save("rsp_flavours", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3, help="Lab cycles per block")
    parser.add_argument("--executions", type=int, default=20, help="Executions per cycle")
    parser.add_argument("--blocks", type=int, default=2, help="Alternating blocks per flavour")
    asyncio.run(main(parser.parse_args()))
