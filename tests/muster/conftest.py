"""Fixtures of the Muster tests: a user with a token and the reference server's identity."""

from __future__ import annotations

from mobu.models.user import AuthenticatedUser, Group
from mobu.testing.muster import MusterIdentity

TOKEN = "gt-muster-test-token.s3cr3t"

USER = AuthenticatedUser(
    username="bot-mobu-muster",
    uidnumber=1042,
    gidnumber=1042,
    groups=[Group(name="g_mobu", id=2001), Group(name="g_users", id=2002)],
    token=TOKEN,
)

IDENTITY = MusterIdentity(
    username="bot-mobu-muster",
    name="Mobu Muster",
    uid=1042,
    gid=1042,
    groups=(("g_users", 2002), ("g_mobu", 2001)),
)
