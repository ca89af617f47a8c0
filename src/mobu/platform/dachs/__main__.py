"""Run a private DaCHS server until SIGINT/SIGTERM: ``python -m mobu.platform.dachs``.

Prints the TAP and SIA URLs and a ``discovery:`` snippet for mobu's configuration.
"""

from __future__ import annotations

import signal
import sys
import threading

import yaml

from mobu.platform.dachs.processes import DachsError
from mobu.platform.dachs.server import DachsServer, dachs_unavailable_reason


def main() -> int:
    """Start the server, print where it is, wait for a signal, stop it."""
    reason = dachs_unavailable_reason()
    if reason is not None:
        print(f"cannot start DaCHS: {reason}", file=sys.stderr)
        return 1
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        server = DachsServer.start()
    except DachsError as exc:
        print(f"cannot start DaCHS: {exc}", file=sys.stderr)
        return 1
    try:
        datasets = {"demo": {"tap": server.tap_url, "sia": server.sia_url}}
        print(f"TAP: {server.tap_url}\nSIA: {server.sia_url}\nPIDs: {server.pids}")
        print(yaml.safe_dump({"discovery": {"datasets": datasets}}, sort_keys=False), flush=True)
        done.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
