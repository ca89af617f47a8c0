"""Generating and partitioning the users of a flock."""

from __future__ import annotations

from mobu.models.flock import FlockConfig
from mobu.models.user import User

__all__ = ["flock_users", "generate_users", "replica_share"]


def generate_users(config: FlockConfig, *, width: int | None = None) -> list[User]:
    """Return the full user list of a flock, explicit or generated, across all replicas.

    Generated names are the prefix plus a number zero-padded to ``width``, by default the width
    of ``count`` (count 10 gives ``01``..``10``); a resized flock keeps the width it started
    with, so its monkeys keep their names. UIDs and GIDs are consecutive from their start values.
    """
    if config.users is not None:
        return list(config.users)
    spec = config.user_spec
    assert spec is not None
    width = len(str(config.count)) if width is None else width
    return [
        User(
            username=f"{spec.username_prefix}{str(i).zfill(width)}",
            uidnumber=spec.uid_start + i - 1 if spec.uid_start is not None else None,
            gidnumber=spec.gid_start + i - 1 if spec.gid_start is not None else None,
            groups=spec.groups,
        )
        for i in range(1, config.count + 1)
    ]


def replica_share(users: list[User], replica_count: int, replica_index: int) -> list[User]:
    """Return the users of this replica: position i belongs to replica ``i % replica_count``."""
    return [u for i, u in enumerate(users) if i % replica_count == replica_index]


def flock_users(
    config: FlockConfig, replica_count: int = 1, replica_index: int = 0, *, width: int | None = None
) -> list[User]:
    """Return this replica's users of a flock (``width``: see :func:`generate_users`)."""
    return replica_share(generate_users(config, width=width), replica_count, replica_index)
