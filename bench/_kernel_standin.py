"""A protocol-correct JupyterHub + lab + kernel stand-in, for benchmarks only (issue 17, part 3).

One small aiohttp process answers, for any number of users, what a NubladoPythonLoop monkey
calls: the hub API (``/hub/api/``, users, tokens, server spawn with its progress event stream,
server delete), the lab's ``/api/status``, ``/api/sessions`` and ``/api/kernels``, and the kernel
``channels`` websocket in the v1 binary subprotocol. Each ``execute_request`` is answered with
the real message sequence of ipykernel: iopub ``status`` busy, iopub ``execute_input``, iopub
``stream`` (stdout), shell ``execute_reply`` (ok, with ``execution_count``) and iopub ``status``
idle, each with the request as parent header. It runs no code: the stream text is a fixed
``"2\\n"`` (what ``print(1+1)`` prints), or for mobu's session-setup snippet the JSON line a lab
prints. A real lab costs ~100 MB; this costs a few KB per
session, so one process can hold thousands: the benchmark measures the generator, not the
platform. Tests keep the real hub (``mobu.platform.hub.LocalHub``).

Usage: ``python bench/_kernel_standin.py`` (prints its port, then serves until terminated).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
import uuid
from typing import Any

from aiohttp import WSMsgType, web

V1 = "v1.kernel.websocket.jupyter.org"
_SETUP_REPLY = (
    json.dumps({"image": "standin", "description": "kernel stand-in", "node": "standin"}) + "\n"
)
_users: dict[str, dict[str, Any]] = {}
_sessions: dict[str, dict[str, Any]] = {}


def pack(channel: str, msg: dict[str, Any]) -> bytes:
    """A v1 frame: count and offsets (little-endian u64), channel, then the JSON parts."""
    parts = [channel.encode()] + [
        json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")
    ]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join(n.to_bytes(8, "little") for n in [len(offsets), *offsets]) + b"".join(parts)


def unpack(data: bytes) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Channel, header and content of a v1 frame."""
    n = int.from_bytes(data[:8], "little")
    offs = [int.from_bytes(data[8 * i + 8 : 8 * i + 16], "little") for i in range(n)]
    channel = data[offs[0] : offs[1]].decode()
    return channel, json.loads(data[offs[1] : offs[2]]), json.loads(data[offs[4] : offs[5]])


def _user_model(name: str) -> dict[str, Any]:
    running = _users.get(name, {}).get("running", False)
    servers = {"": {"name": "", "ready": True, "url": f"/user/{name}/"}} if running else {}
    return {"name": name, "kind": "user", "admin": False, "server": f"/user/{name}/" if running
            else None, "pending": None, "servers": servers}  # fmt: skip


async def hub_root(request: web.Request) -> web.Response:
    return web.json_response({"version": "5.4.0"})


async def user(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if request.method == "POST":
        if name in _users:
            return web.json_response({"status": 409, "message": "exists"}, status=409)
        _users[name] = {"running": False}
        return web.json_response(_user_model(name), status=201)
    if name not in _users:
        return web.json_response({"status": 404, "message": "no such user"}, status=404)
    return web.json_response(_user_model(name))


async def tokens(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    _users.setdefault(name, {"running": False})
    return web.json_response({"token": f"standin-{uuid.uuid4().hex}", "id": uuid.uuid4().hex[:8]},
                             status=201)  # fmt: skip


async def token_delete(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def server(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    state = _users.setdefault(name, {"running": False})
    if request.method == "DELETE":
        state["running"] = False
        return web.Response(status=204)
    if state["running"]:
        return web.json_response({"status": 400, "message": f"{name} is already running"},
                                 status=400)  # fmt: skip
    state["running"] = True
    return web.Response(status=201)


async def progress(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    event = {"progress": 100, "ready": True, "message": "ready", "url": f"/user/{name}/"}
    await response.write(f"data: {json.dumps(event)}\n\n".encode())
    await response.write_eof()
    return response


async def lab_status(request: web.Request) -> web.Response:
    return web.json_response({"connections": 0, "kernels": 0, "started": "2026-01-01T00:00:00Z"})


async def sessions(request: web.Request) -> web.Response:
    body = await request.json()
    sid, kid = uuid.uuid4().hex, uuid.uuid4().hex
    model = {"id": sid, "path": body.get("path"), "name": body.get("name"), "type": "notebook",
             "kernel": {"id": kid, "name": "python3", "execution_state": "idle"}}  # fmt: skip
    _sessions[sid] = model
    return web.json_response(model, status=201)


async def session_delete(request: web.Request) -> web.Response:
    _sessions.pop(request.match_info["sid"], None)
    return web.Response(status=204)


async def kernels(request: web.Request) -> web.Response:
    return web.json_response([s["kernel"] for s in _sessions.values()])


def _reply(parent: dict[str, Any], kind: str, content: dict[str, Any]) -> dict[str, Any]:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "session": "standin",
              "username": parent.get("username", ""), "version": "5.4",
              "date": datetime.datetime.now(datetime.UTC).isoformat()}  # fmt: skip
    return {"header": header, "parent_header": parent, "metadata": {}, "content": content}


async def channels(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=[V1], max_msg_size=0)
    await ws.prepare(request)
    count = 0
    async for message in ws:
        if message.type != WSMsgType.BINARY:
            continue
        _, header, content = unpack(message.data)
        if header.get("msg_type") != "execute_request":
            continue
        count += 1
        code = content.get("code", "")
        # mobu's session setup prints the lab's image and node as JSON; answer as a lab would.
        text = _SETUP_REPLY if "JUPYTER_IMAGE" in code else "2\n"
        for channel, kind, body in (
            ("iopub", "status", {"execution_state": "busy"}),
            ("iopub", "execute_input", {"code": code, "execution_count": count}),
            ("iopub", "stream", {"name": "stdout", "text": text}),
            ("shell", "execute_reply", {"status": "ok", "execution_count": count,
                                        "user_expressions": {}, "payload": []}),
            ("iopub", "status", {"execution_state": "idle"}),
        ):  # fmt: skip
            await ws.send_bytes(pack(channel, _reply(header, kind, body)))
    return ws


def app() -> web.Application:
    """The stand-in's routes."""
    application = web.Application()
    users = "/hub/api/users/{name}"
    lab = "/user/{name}/api"
    application.add_routes([
        web.get("/hub/api/", hub_root),
        web.route("*", users, user),
        web.post(users + "/tokens", tokens),
        web.delete(users + "/tokens/{tid}", token_delete),
        web.route("*", users + "/server", server),
        web.get(users + "/server/progress", progress),
        web.get(lab + "/status", lab_status),
        web.post(lab + "/sessions", sessions),
        web.delete(lab + "/sessions/{sid}", session_delete),
        web.get(lab + "/kernels", kernels),
        web.get(lab + "/kernels/{kid}/channels", channels),
    ])  # fmt: skip
    return application


async def main() -> None:
    """Serve on 127.0.0.1 and a port the OS picks; print the port."""
    runner = web.AppRunner(app(), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
    sys.exit(0)
