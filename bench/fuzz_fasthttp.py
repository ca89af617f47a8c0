"""Coverage-guided fuzzing of the fast HTTP client's response parser with atheris (issue 17).

Each input is one real exchange over loopback TCP: a server in the same event loop reads the
request and answers with the input's bytes, split where the input's first byte says, then closes.
The client must end with a response or a ``FastHTTPError``; any other exception is a crash and
not ending within ``--hang`` seconds of the close is a hang (both abort with the input saved by
atheris as ``crash-*``). The hypothesis tests in ``tests/engine/test_fasthttp_fuzz.py`` cover the
same properties in CI; this script searches longer and guided by coverage.

Usage: ``.venv/bin/python bench/fuzz_fasthttp.py [-runs=20000] [-max_total_time=120] [CORPUS]``
(atheris is a bench-only dependency: ``pip install atheris``).
"""

from __future__ import annotations

import asyncio
import sys

import atheris

with atheris.instrument_imports():
    from mobu.storage.fasthttp import FastHTTPClient
    from mobu.storage.httpwire import FastHTTPError, FastResponse

HANG = 10.0
_loop = asyncio.new_event_loop()
_current: list[bytes] = []
_port = 0


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        for piece in _current:
            writer.write(piece)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _start() -> None:
    global _port
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    _port = server.sockets[0].getsockname()[1]


async def _exchange() -> None:
    client = FastHTTPClient(max_body=4096)
    try:
        async with asyncio.timeout(HANG):
            result = await client.request("GET", f"http://127.0.0.1:{_port}/")
        if not isinstance(result, FastResponse) or len(result.body) > 4096:
            raise AssertionError(f"bad result {result!r}")
    except FastHTTPError:
        pass
    except TimeoutError as exc:
        raise AssertionError(f"hang: no end {HANG} s after the server closed") from exc
    finally:
        await client.aclose()


def test_one_input(data: bytes) -> None:
    """One fuzz input: first byte = split position (mod length), the rest = the response."""
    if not data:
        return
    body = data[1:]
    cut = data[0] % (len(body) + 1)
    _current[:] = [body[:cut], body[cut:]]
    _loop.run_until_complete(_exchange())


def main() -> None:
    """Entry point: atheris takes libFuzzer options from the command line."""
    _loop.run_until_complete(_start())
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
