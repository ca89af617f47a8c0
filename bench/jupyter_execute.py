"""Code-execution overhead: NubladoPythonLoop vs a minimal hand-written websocket client.

Both run ``print(1+1)`` back to back against labs of the same local JupyterHub in the same run,
alternating blocks. The minimal client is the least a client can do: pack a v1 frame, send it,
unpack frames until the reply and idle arrive. mobu's figure is the business's own loop (run
code under its timeout, publish the event, log, pause 0) measured between consecutive
``nublado_python_execution`` events. Run with and without the TCP_NODELAY lab launcher: with
Nagle's ~40 ms floor the client overhead is invisible, without it the ratio shows.

Usage: ``python bench/jupyter_execute.py [--executions 300] [--blocks 3] [--nagle]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from jupyter_common import describe, mobu_context, save

from mobu.models.flock import FlockConfig
from mobu.platform.hub import LocalHub
from mobu.storage.jupyter import HubClient

V1 = "v1.kernel.websocket.jupyter.org"


def _pack(msg: dict[str, Any]) -> bytes:
    parts = [b"shell"] + [
        json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")
    ]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join(n.to_bytes(8, "little") for n in [len(offsets), *offsets]) + b"".join(parts)


def _unpack(data: bytes) -> tuple[str, dict[str, Any], dict[str, Any]]:
    n = int.from_bytes(data[:8], "little")
    offs = [int.from_bytes(data[8 * i + 8 : 8 * i + 16], "little") for i in range(n)]
    header = json.loads(data[offs[1] : offs[2]])
    parent = json.loads(data[offs[2] : offs[3]])
    content = json.loads(data[offs[4] : offs[5]])
    return header["msg_type"], parent, content


async def minimal_block(hub: LocalHub, token: str, user: str, count: int) -> list[float]:
    """Time ``count`` executions with the hand-written client; returns per-execution seconds."""
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        headers = {"Authorization": f"token {token}"}
        base = f"{hub.url}user/{user}/"
        session = (
            await http.post(
                f"{base}api/sessions",
                headers=headers,
                json={
                    "path": "bench.ipynb",
                    "type": "notebook",
                    "name": "bench",
                    "kernel": {"name": "python3"},
                },
            )
        ).json()
        url = base.replace("http", "ws", 1) + f"api/kernels/{session['kernel']['id']}/channels"
        times = []
        async with connect(
            url,
            subprotocols=[V1],
            additional_headers=headers,
            proxy=None,  # type: ignore[list-item]
            max_size=None,
            compression=None,  # as mobu (and any lean client): no permessage-deflate
        ) as ws:
            for _ in range(count + 1):
                msg_id = uuid.uuid4().hex
                start = time.perf_counter()
                await ws.send(
                    _pack(
                        {
                            "header": {
                                "msg_id": msg_id,
                                "msg_type": "execute_request",
                                "session": "b",
                                "username": user,
                                "version": "5.4",
                                "date": "",
                            },
                            "parent_header": {},
                            "metadata": {},
                            "content": {
                                "code": "print(1+1)",
                                "silent": False,
                                "store_history": False,
                                "user_expressions": {},
                                "allow_stdin": False,
                                "stop_on_error": False,
                            },
                        }
                    )
                )
                reply = idle = False
                while not (reply and idle):
                    kind, parent, content = _unpack(await ws.recv())  # type: ignore[arg-type]
                    if parent.get("msg_id") != msg_id:
                        continue
                    reply = reply or kind == "execute_reply"
                    idle = idle or (kind == "status" and content["execution_state"] == "idle")
                times.append(time.perf_counter() - start)
        await http.delete(f"{base}api/sessions/{session['id']}", headers=headers)
    return times[1:]  # the first execution warms the kernel up


async def mobu_block(context: Any, sink: Any, name: str, count: int) -> list[float]:
    """Run NubladoPythonLoop for ``count`` executions; returns the gaps between events."""
    before = len(sink.times("nublado_python_execution"))
    flock = FlockConfig.model_validate(
        {
            "name": name,
            "count": 1,
            "users": [{"username": "bot-mobu-bench"}],
            "business": {
                "type": "NubladoPythonLoop",
                "options": {
                    "code": "print(1+1)",
                    "max_executions": count + 1,
                    "execution_idle_time": 0,
                    "spawn_settle_time": 0,
                    "delete_lab": True,
                    "idle_time": 3600,
                    "get_node": False,
                },
            },
        }
    )
    await context.manager.start_flock(flock)
    await sink.wait_count("nublado_python_execution", before + count + 1)
    await context.manager.stop_flock(name)
    stamps = sink.times("nublado_python_execution")[before : before + count + 1]
    return [b - a for a, b in itertools.pairwise(stamps)]


async def main(executions: int, blocks: int, nagle: bool) -> None:
    hub = LocalHub(nodelay=not nagle)
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
            minimal: list[float] = []
            ours: list[float] = []
            for block in range(blocks):
                minimal += await minimal_block(hub, token, user, executions)
                ours += await mobu_block(context, sink, f"bench{block}", executions)
            await client.stop(user)
        result = {
            "benchmark": "jupyter_execute",
            "nagle": nagle,
            "executions_per_block": executions,
            "blocks": blocks,
            "minimal_client": describe(minimal),
            "nublado_python_loop": describe(ours),
        }
        result["ratio_median"] = round(
            result["nublado_python_loop"]["median_ms"] / result["minimal_client"]["median_ms"], 3
        )
        result["ratio_mean"] = round(
            result["nublado_python_loop"]["mean_ms"] / result["minimal_client"]["mean_ms"], 3
        )
        save("jupyter_execute" + ("_nagle" if nagle else ""), result)
    finally:
        await asyncio.to_thread(hub.stop)
        hub.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--nagle", action="store_true", help="keep the labs' Nagle delay")
    args = parser.parse_args()
    asyncio.run(main(args.executions, args.blocks, args.nagle))
