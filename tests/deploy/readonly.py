"""Run a command with every filesystem read-only except one directory (the pod's ``/tmp``).

Usage (as root, inside ``unshare --mount --propagation private``)::

    python readonly.py WRITABLE_DIR -- COMMAND [ARG ...]

It bind-mounts ``WRITABLE_DIR`` onto itself, remounts every other mount point of this mount
namespace read-only (``/proc`` and ``/sys`` excepted, as in a pod), checks that a write outside
``WRITABLE_DIR`` now fails even for root, and executes the command. The kernel then refuses
every write anywhere else, by this process and by every child (git, git-lfs), whatever it
catches: that is what ``readOnlyRootFilesystem: true`` with an ``emptyDir`` at ``/tmp`` does.
Nothing leaks out of the private mount namespace.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_KEEP = ("/proc", "/sys")


def _mount_points() -> list[tuple[str, set[str]]]:
    """Mount points of this namespace with their per-mount options, parents first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        path = fields[4].replace("\\040", " ")
        points.append((path, set(fields[5].split(","))))
    return sorted(points, key=lambda p: p[0].count("/"))


def make_read_only(writable: Path) -> None:
    """Everything read-only but ``writable`` (raises if a mount cannot be made read-only)."""
    target = str(writable)
    subprocess.run(["mount", "--bind", target, target], check=True)
    for path, options in _mount_points():
        if path == target or "ro" in options:
            continue
        if any(path == keep or path.startswith(keep + "/") for keep in _KEEP):
            continue
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True)


def check(writable: Path, outside: Path) -> None:
    """A file can be made in ``writable`` and not in ``outside`` (exits 3 otherwise)."""
    with tempfile.NamedTemporaryFile(dir=writable):
        pass
    try:
        with tempfile.NamedTemporaryFile(dir=outside):
            pass
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES):
            return
        raise
    sys.exit(f"readonly.py: {outside} is still writable")


def main(argv: list[str]) -> None:
    """``WRITABLE -- COMMAND ...``."""
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: readonly.py WRITABLE_DIR -- COMMAND [ARG ...]")
    writable = Path(argv[0]).resolve()
    make_read_only(writable)
    check(writable, Path.cwd())
    check(writable, Path(os.environ.get("HOME", "/")))
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
