"""Muster's delegation check against the identity Gafaelfawr resolved (the local token service).

The Muster server stands behind an "ingress" that resolves each token through the token
service's records, as Gafaelfawr's ingress does, so its delegated identity is Gafaelfawr's user
info; the monkey's expected identity is the one the ``gafaelfawr`` provider read with
``get_user_info``, full name included (where the reference reads it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from mobu.platform.gafaelfawr import GafaelfawrStandIn
from mobu.platform.repertoire import discovery_document
from mobu.services.business.muster import Muster, MusterExecution
from mobu.testing.muster import MusterIdentity, run_muster_server
from tests.jupyter.support import start, wait_events
from tests.rsp.conftest import Platform, rsp_context
from tests.support.hubs import needs_hub

pytestmark = [needs_hub]

USERS = {"username_prefix": "bot-mobu-mu", "uid_start": 46000, "gid_start": 1300}


class ResolvedByGafaelfawr(Mapping[str, MusterIdentity]):
    """Token → identity, from the token service's records (``name`` may be overridden)."""

    def __init__(self, service: GafaelfawrStandIn, name: str | None = None) -> None:
        self.service = service
        self.name = name

    def __getitem__(self, token: str) -> MusterIdentity:
        found = next((m for m in self.service.minted if m.token == token and m.valid), None)
        if found is None:
            raise KeyError("unknown token")
        return MusterIdentity(
            username=found.username,
            name=self.name if self.name is not None else found.name,
            uid=found.uid,
            gid=found.gid,
            groups=tuple((g["name"], g.get("id")) for g in found.groups),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(m.token for m in self.service.minted)

    def __len__(self) -> int:
        return len(self.service.minted)


async def _run(
    platform: Platform, name: str | None, *, failing: int = 0
) -> tuple[list[MusterExecution], list[str]]:
    """Run a Muster flock of two; wait for ``failing`` failure reports before stopping it."""
    users = ResolvedByGafaelfawr(platform.gafaelfawr.service, name)
    async with run_muster_server(users) as muster:
        platform.repertoire.service.update(
            discovery_document(
                hub_url=platform.hub.url,
                gafaelfawr_url=platform.gafaelfawr.base_url,
                muster_url=muster.url,
            )
        )
        async with rsp_context(platform) as (context, events, failures):
            flock = await start(
                context, name="mu", count=2, user_spec=USERS, scopes=["read:all"],
                business={"type": "Muster", "options": {"idle_time": "1h"}},
            )  # fmt: skip
            for monkey in flock.monkeys:
                assert isinstance(monkey.business, Muster)
                assert monkey.business.user.name == "Mobu Test User"
            published = await wait_events(events, "muster", 2)
            reports = await failures.wait_for(failing) if failing else []
            await context.manager.stop_flock("mu")
            errors = [str(r.error) for r in reports or failures.reports]
    return [e for e in published if isinstance(e, MusterExecution)], errors


async def test_delegation_matches_gafaelfawr_user_info(platform: Platform) -> None:
    """Both monkeys pass every check, name, uid, gid and groups as Gafaelfawr resolved them."""
    executions, errors = await _run(platform, None)
    assert [e.success for e in executions] == [True, True]
    assert errors == []


async def test_delegation_with_another_name_fails(platform: Platform) -> None:
    """The ingress delegating a different full name is caught: the name is compared."""
    executions, errors = await _run(platform, "Someone Else", failing=2)
    assert [e.success for e in executions] == [False, False]
    assert errors
    assert all("delegation" in e and "Mobu Test User" in e for e in errors), errors
