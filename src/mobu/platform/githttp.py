"""A smart-HTTP git server: ``git http-backend`` behind a threaded stdlib WSGI server.

Started by :func:`mobu.platform.lfs.run_lfs_servers` as ``python -m mobu.platform.githttp --root DIR
--fd N``, on a listening socket it inherits (so its port was chosen free by the parent). Pushes need
HTTP Basic credentials whose password is ``$MOBU_LFS_TOKEN``; fetches are anonymous.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import socket
import subprocess
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

__all__ = ["git_http_app", "main"]


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        # wsgiref does not de-chunk, and git sends packs over http.postBuffer (1 MiB) chunked.
        parts = []
        while True:
            size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                stream.readline()
                break
            parts.append(stream.read(size))
            stream.readline()
        return b"".join(parts)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length else b""


def _authorized(environ: dict[str, Any], token: str) -> bool:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        password = base64.b64decode(value).decode().partition(":")[2]
    except ValueError:
        return False
    return hmac.compare_digest(password.encode(), token.encode())


def git_http_app(root: Path, token: str) -> Any:
    """WSGI app serving the bare repositories under ``root``; pushes need ``token``."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        pushing = "git-receive-pack" in environ.get("QUERY_STRING", "") or environ.get(
            "PATH_INFO", ""
        ).endswith("/git-receive-pack")
        if pushing and not _authorized(environ, token):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"authentication required\n"]
        body = _read_body(environ)
        env = {
            k: v for k, v in environ.items() if isinstance(v, str) and k != "HTTP_TRANSFER_ENCODING"
        }
        env.update(
            CONTENT_LENGTH=str(len(body)),
            GIT_PROJECT_ROOT=str(root),
            GIT_HTTP_EXPORT_ALL="1",
            REMOTE_USER="mobu",
            GIT_CONFIG_NOSYSTEM="1",
            PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        )
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, sep, out = result.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, _, out = result.stdout.partition(b"\n\n")
        status, headers = "200 OK", []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = value.strip()
            elif key:
                headers.append((key, value.strip()))
        start_response(status, headers)
        return [out]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Do not log each request."""


def _serve_git(root: Path, fd: int) -> None:
    token = os.environ.get("MOBU_LFS_TOKEN", "")
    server = _ThreadingServer(("127.0.0.1", 0), _QuietHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=fd)
    server.server_address = server.socket.getsockname()
    server.server_name = "127.0.0.1"
    server.server_port = server.server_address[1]
    server.setup_environ()
    server.set_app(git_http_app(root, token))
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m mobu.platform.githttp", description=__doc__)
    parser.add_argument("--root", required=True, type=Path, help="directory of bare repositories")
    parser.add_argument("--fd", required=True, type=int, help="inherited listening socket")
    args = parser.parse_args(argv)
    _serve_git(args.root, args.fd)


if __name__ == "__main__":
    main()
