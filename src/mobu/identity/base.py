"""Who the monkeys are: the identity provider protocol, its error, and the anonymous provider."""

from __future__ import annotations

from typing import Protocol

from mobu.exceptions import MobuError
from mobu.models.user import AuthenticatedUser, User

__all__ = [
    "AnonymousIdentity",
    "IdentityError",
    "IdentityProvider",
    "authenticated",
    "release_users",
]


class IdentityError(MobuError):
    """Monkeys could not be given an identity (user creation or token minting failed)."""

    error, status_code = "identity_failed", 502


class IdentityProvider(Protocol):
    """Turns users into authenticated users with tokens (one module per provider)."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return one authenticated user per user, in order."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...


def authenticated(user: User, scopes: list[str], token: str | None) -> AuthenticatedUser:
    """Return ``user`` authenticated with ``scopes`` and ``token`` (its gid defaults to its uid)."""
    return AuthenticatedUser(
        username=user.username,
        uidnumber=user.uidnumber,
        gidnumber=user.gidnumber if user.gidnumber is not None else user.uidnumber,
        groups=user.groups,
        scopes=scopes,
        token=token,
    )


async def release_users(identity: IdentityProvider, users: list[AuthenticatedUser]) -> None:
    """Let ``identity`` revoke what it minted for ``users``, whose monkeys stopped.

    Providers that mint credentials (``jupyterhub``, ``gafaelfawr``) have a ``release``
    coroutine; the others, having nothing to revoke, need none.
    """
    release = getattr(identity, "release", None)
    if release is not None:
        await release(users)


class AnonymousIdentity:
    """No identity provider configured: monkeys run with no token."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return the users as they are, with no token."""
        return [authenticated(u, scopes, None) for u in users]

    async def aclose(self) -> None:
        """Nothing to release."""
