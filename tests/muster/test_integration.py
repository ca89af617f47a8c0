"""Muster through the whole process: discovery, static identity, entry-point registry, a flock."""

from __future__ import annotations

import asyncio

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig
from mobu.services.builder import null_logger
from mobu.services.business.muster import MusterExecution
from mobu.testing.muster import MusterIdentity, run_muster_server

BOUND = 60.0


async def test_flock_of_two() -> None:
    """Two monkeys with their own tokens pass every check, as their own identities."""
    users = {
        f"token-{n}": MusterIdentity(
            username=f"bot-mobu-m{n}", uid=2000 + n, gid=2000 + n, groups=(("g_mobu", 3000),)
        )
        for n in (1, 2)
    }
    events = Events()
    async with run_muster_server(users) as server:
        config = Config(
            discovery={"services": {"muster": server.url}},
            identity={
                "provider": "static",
                "tokens": {"bot-mobu-m1": "token-1", "bot-mobu-m2": "token-2"},
            },
        )
        async with ProcessContext(config, logger=null_logger(), events=events) as context:
            flock = FlockConfig.model_validate(
                {
                    "name": "muster",
                    "count": 2,
                    "users": [
                        {
                            "username": f"bot-mobu-m{n}",
                            "uidnumber": 2000 + n,
                            "groups": [{"name": "g_mobu", "id": 3000}],
                        }
                        for n in (1, 2)
                    ],
                    "business": {"type": "Muster", "options": {"idle_time": "1h"}},
                }
            )
            await context.manager.start_flock(flock)
            assert events.recorder is not None
            async with asyncio.timeout(BOUND):
                published = await events.recorder.wait_for("muster", 2)
    checks = [e for e in published if isinstance(e, MusterExecution)]
    assert [e.success for e in checks] == [True, True]
    assert {e.username for e in checks} == {"bot-mobu-m1", "bot-mobu-m2"}
