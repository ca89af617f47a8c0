"""Who the monkeys are: turning configured users into authenticated users."""

from __future__ import annotations

from typing import Protocol

from mobu.models.user import AuthenticatedUser, User

__all__ = ["AnonymousIdentity", "IdentityProvider"]


class IdentityProvider(Protocol):
    """Turns users into authenticated users with tokens (implementations in later modules)."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return one authenticated user per user, in order."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...


class AnonymousIdentity:
    """No identity provider configured: monkeys run with no token."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return the users as they are, with no token."""
        return [
            AuthenticatedUser(
                username=u.username,
                uidnumber=u.uidnumber,
                gidnumber=u.gidnumber if u.gidnumber is not None else u.uidnumber,
                groups=u.groups,
                scopes=scopes,
                token=None,
            )
            for u in users
        ]

    async def aclose(self) -> None:
        """Nothing to release."""
