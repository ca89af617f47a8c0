"""A local GitHub REST API for the GitHub app tests, speaking GitHub's contract over HTTP.

Implements exactly what the CI app calls: ``POST /app/installations/{id}/access_tokens`` (the
app's RS256 JWT is verified against the test's public key and its ``iss``), check-runs create and
update, ``GET /repos/{o}/{r}/pulls/{n}/files`` (paginated with ``Link`` headers, ``per_page``
up to 100, default 30) and ``GET /repos/{o}/{r}/compare/{base}...{head}`` (computed by git from a
real bare repository the test registers: merge base, ahead/behind, commits and ``files``).
Errors have GitHub's statuses and bodies (``{"message", "documentation_url"}``); every call is
recorded.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

DOCS = "https://docs.github.com/rest"


@dataclass
class Call:
    """One recorded request."""

    method: str
    path: str
    body: Any


@dataclass
class FakeGitHub:
    """State of the stand-in: the app, installations, PR files, check runs and the calls."""

    app_id: int
    public_key: str
    url: str = ""
    pull_files: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    repositories: dict[str, Path] = field(default_factory=dict)
    """``owner/name`` → bare git repository that the compare route reads."""
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    history: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 300.0) -> None:
        """Wait (bounded) until ``predicate()`` holds after some call."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def statuses(self, run_id: int) -> list[str]:
        """The statuses a check run went through, in order, without repeats."""
        seen: list[str] = []
        for state in self.history.get(run_id, []):
            if not seen or seen[-1] != state["status"]:
                seen.append(state["status"])
        return seen

    def file(self, name: str, status: str = "modified") -> dict[str, Any]:
        """A pull-request file entry as GitHub gives it."""
        return {
            "sha": secrets.token_hex(20),
            "filename": name,
            "status": status,
            "additions": 1,
            "deletions": 0,
            "changes": 1,
            "blob_url": f"https://github.com/o/r/blob/x/{name}",
            "raw_url": f"https://github.com/o/r/raw/x/{name}",
            "contents_url": f"{self.url}/repos/o/r/contents/{name}",
            "patch": "@@ -1 +1 @@",
        }


FILE_STATUSES = {"A": "added", "M": "modified", "T": "changed", "D": "removed"}


def _git(bare: Path, *args: str) -> str | None:
    done = subprocess.run(
        ["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def _diff_files(state: FakeGitHub, bare: Path, base: str, head: str) -> list[dict[str, Any]]:
    out = _git(bare, "diff", "--name-status", "-z", "-M", base, head) or ""
    fields, files, i = out.split("\0"), [], 0
    while i < len(fields) and fields[i]:
        letter = fields[i][0]
        if letter in "RC":
            entry = state.file(fields[i + 2], "renamed" if letter == "R" else "copied")
            entry["previous_filename"] = fields[i + 1]
            i += 3
        else:
            entry = state.file(fields[i + 1], FILE_STATUSES.get(letter, "changed"))
            i += 2
        files.append(entry)
    return files


def compare(state: FakeGitHub, full_name: str, base: str, head: str) -> dict[str, Any] | None:
    """GitHub's answer to ``compare/{base}...{head}``, or None for an unknown repository/ref."""
    bare = state.repositories.get(full_name)
    if bare is None:
        return None
    base_sha = _git(bare, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    head_sha = _git(bare, "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}")
    if base_sha is None or head_sha is None:
        return None
    base_sha, head_sha = base_sha.strip(), head_sha.strip()
    merge_base = (_git(bare, "merge-base", base_sha, head_sha) or "").strip()
    if not merge_base:
        return None
    ahead = (_git(bare, "rev-list", f"{merge_base}..{head_sha}") or "").split()
    behind = int((_git(bare, "rev-list", "--count", f"{head_sha}..{base_sha}") or "0").strip())
    status = {
        (False, False): "identical",
        (True, False): "ahead",
        (False, True): "behind",
    }.get((bool(ahead), bool(behind)), "diverged")
    url = f"{state.url}/repos/{full_name}/compare/{base}...{head}"
    return {
        "url": url,
        "html_url": f"https://github.com/{full_name}/compare/{base}...{head}",
        "base_commit": {"sha": base_sha},
        "merge_base_commit": {"sha": merge_base},
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": behind,
        "total_commits": len(ahead),
        "commits": [{"sha": sha} for sha in reversed(ahead)],
        "files": _diff_files(state, bare, merge_base, head_sha),
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": DOCS}, status_code=status)


def _app(state: FakeGitHub) -> FastAPI:
    """Long because it is the route table of the stand-in, one short route after another."""
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        body = await request.body()
        state.calls.append(Call(request.method, request.url.path, body.decode() or None))
        response = await call_next(request)
        state.changed.set()
        return response

    def token_ok(request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() in ("token", "bearer") and value in state.tokens

    @app.post("/app/installations/{installation}/access_tokens", status_code=201)
    async def access_token(installation: int, request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return _error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(value, state.public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return _error(401, "A JSON web token could not be decoded")
        if str(claims.get("iss")) != str(state.app_id):
            return _error(401, "'Issuer' claim ('iss') must be an Integer")
        token = f"ghs_{secrets.token_hex(18)}"
        state.tokens.add(token)
        return JSONResponse(
            {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}},
            status_code=201,
        )

    @app.post("/repos/{owner}/{repo}/check-runs")
    async def create_check(owner: str, repo: str, request: Request) -> Response:
        if not token_ok(request):
            return _error(401, "Bad credentials")
        body = await request.json()
        if "name" not in body or "head_sha" not in body:
            return _error(422, "Invalid request.")
        run_id = len(state.check_runs) + 1
        run = {
            "id": run_id,
            "head_sha": body["head_sha"],
            "name": body["name"],
            "status": body.get("status", "queued"),
            "conclusion": None,
            "external_id": body.get("external_id"),
            "output": body.get("output", {}),
            "url": f"{state.url}/repos/{owner}/{repo}/check-runs/{run_id}",
            "html_url": f"https://github.com/{owner}/{repo}/runs/{run_id}",
            "check_suite": {"id": 1},
            "pull_requests": [],
        }
        state.check_runs[run_id] = run
        state.history[run_id] = [dict(run)]
        return JSONResponse(run, status_code=201)

    @app.patch("/repos/{owner}/{repo}/check-runs/{run_id}")
    async def update_check(owner: str, repo: str, run_id: int, request: Request) -> Response:
        if not token_ok(request):
            return _error(401, "Bad credentials")
        run = state.check_runs.get(run_id)
        if run is None:
            return _error(404, "Not Found")
        body = await request.json()
        if body.get("status") == "completed" and not body.get("conclusion"):
            return _error(422, "Invalid request.")
        run.update({k: v for k, v in body.items() if k in ("status", "conclusion", "output")})
        state.history[run_id].append(dict(run))
        return JSONResponse(run)

    @app.get("/repos/{owner}/{repo}/pulls/{number}/files")
    async def pull_files(
        owner: str, repo: str, number: int, request: Request, page: int = 1, per_page: int = 30
    ) -> Response:
        if not token_ok(request):
            return _error(401, "Bad credentials")
        files = state.pull_files.get((f"{owner}/{repo}", number))
        if files is None:
            return _error(404, "Not Found")
        per_page = max(1, min(per_page, 100))
        last = max(1, -(-len(files) // per_page))
        chunk = files[(page - 1) * per_page : page * per_page]
        base = f"{state.url}/repos/{owner}/{repo}/pulls/{number}/files?per_page={per_page}"
        links = []
        if page < last:
            links += [f'<{base}&page={page + 1}>; rel="next"', f'<{base}&page={last}>; rel="last"']
        headers = {"Link": ", ".join(links)} if links else {}
        return JSONResponse(chunk, headers=headers)

    @app.get("/repos/{owner}/{repo}/compare/{basehead:path}")
    async def compare_commits(owner: str, repo: str, basehead: str, request: Request) -> Response:
        if not token_ok(request):
            return _error(401, "Bad credentials")
        base, dots, head = basehead.partition("...")
        if not dots or not base or not head:
            return _error(404, "Not Found")
        found = await asyncio.to_thread(compare, state, f"{owner}/{repo}", base, head)
        if found is None:
            return _error(404, "Not Found")
        return JSONResponse(found)

    return app


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def run_fake_github(app_id: int, public_key: str) -> AsyncIterator[FakeGitHub]:
    """Serve the stand-in on a free loopback port until the block ends."""
    state = FakeGitHub(app_id=app_id, public_key=public_key)
    sock = _free_socket()
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(_app(state), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    sock.listen(128)  # connections wait in the backlog until the server accepts them
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield state
    finally:
        server.should_exit = True
        await task
        sock.close()
