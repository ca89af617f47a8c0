"""The local LFS servers themselves: smart-HTTP git with token pushes, LFS through giftless."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from structlog.typing import FilteringBoundLogger

from mobu.platform.lfs import LfsServers, lfs_unavailable_reason
from mobu.storage.git import GitCommandError, GitRunner

from .conftest import TOKEN

REASON = lfs_unavailable_reason()
pytestmark = [pytest.mark.lfs, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

GITCONFIG = "[user]\n\tname = Test\n\temail = test@example.com\n[lfs]\n\tlocksverify = false\n"


async def test_git_over_http_with_lfs(
    lfs_servers: LfsServers, tmp_path: Path, logger: FilteringBoundLogger
) -> None:
    """A push over smart HTTP (chunked) needs the token; an anonymous clone gets it all back."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(GITCONFIG)
    git = GitRunner(timeout=timedelta(seconds=60), secrets=[TOKEN], logger=logger)
    lfs_servers.create_repo("demo")
    work = tmp_path / "work"
    await git.run("lfs", "install", "--skip-repo", cwd=tmp_path, home=home)
    await git.run("init", "-q", "-b", "main", str(work), cwd=tmp_path, home=home)
    await git.run("lfs", "install", "--local", cwd=work, home=home)
    (work / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    (work / ".lfsconfig").write_text(f"[lfs]\n\turl = {lfs_servers.lfs_read_url('mobu', 'demo')}\n")
    (work / "data.bin").write_bytes(b"\x00payload\xff" * 1000)
    big = os.urandom(3 * 1024 * 1024)  # a pack over http.postBuffer: pushed chunked
    (work / "big.dat").write_bytes(big)
    await git.run("add", ".", cwd=work, home=home)
    await git.run("commit", "-q", "-m", "data", cwd=work, home=home)
    write = lfs_servers.lfs_write_url("mobu", "demo")
    await git.run("config", "lfs.url", write, cwd=work, home=home)

    remote = lfs_servers.git_url("demo")
    with pytest.raises(GitCommandError) as excinfo:
        await git.run("push", "-q", remote, "main", cwd=work, home=home)
    assert "terminal prompts disabled" in excinfo.value.stderr

    netloc = remote.split("/")[2]
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"http://gituser:{TOKEN}@{netloc}\n"
        f"http://gituser:{TOKEN}@127.0.0.1:{lfs_servers.write_port}\n"
    )
    await git.run("config", "credential.helper", f"store --file {credentials}", cwd=work, home=home)
    await git.run("push", "-q", remote, "main", cwd=work, home=home)

    clone = tmp_path / "clone"
    await git.run("clone", "-q", remote, str(clone), cwd=tmp_path, home=home)
    assert (clone / "data.bin").read_bytes() == b"\x00payload\xff" * 1000
    assert (clone / "big.dat").read_bytes() == big
    pointer = await git.run("show", "HEAD:data.bin", cwd=clone, home=home)
    assert pointer.stdout.startswith("version https://git-lfs.github.com/spec/v1")


async def test_write_port_requires_token(lfs_servers: LfsServers) -> None:
    """The write port refuses uploads without the right token; the read port reads anonymously."""
    batch = {
        "operation": "upload",
        "transfers": ["basic"],
        "objects": [{"oid": "0" * 64, "size": 1}],
    }
    headers = {"Accept": "application/vnd.git-lfs+json"}
    async with httpx.AsyncClient(timeout=30) as client:
        url = lfs_servers.lfs_write_url() + "/objects/batch"
        assert (await client.post(url, json=batch, headers=headers)).status_code == 401
        bad = await client.post(url, json=batch, headers=headers, auth=("gituser", "wrong"))
        assert bad.status_code == 401
        good = await client.post(url, json=batch, headers=headers, auth=("gituser", TOKEN))
        assert good.status_code == 200
        assert "upload" in good.json()["objects"][0]["actions"]
        read = lfs_servers.lfs_read_url() + "/objects/batch"
        download = {**batch, "operation": "download"}
        anonymous = await client.post(read, json=download, headers=headers)
        assert anonymous.status_code == 404, "allowed, but no such object"
        assert (await client.post(read, json=batch, headers=headers)).status_code in (401, 403)
