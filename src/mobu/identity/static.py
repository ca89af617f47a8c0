"""The ``static`` identity provider: tokens given in the configuration.

For hubs where mobu cannot mint tokens; the tokens may come from ``MOBU_IDENTITY__...``
variables.
"""

from __future__ import annotations

from mobu.identity.base import IdentityError, authenticated
from mobu.identity.config import StaticIdentityConfig
from mobu.models.user import AuthenticatedUser, User

__all__ = ["StaticIdentity"]


class StaticIdentity:
    """Hands out the configured tokens."""

    def __init__(self, config: StaticIdentityConfig) -> None:
        self.config = config

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return the users with their configured tokens.

        Raises
        ------
        IdentityError
            A user has no token and there is no default token.
        """
        out = []
        for user in users:
            secret = self.config.tokens.get(user.username, self.config.default_token)
            if secret is None:
                raise IdentityError(
                    f"identity.tokens has no token for {user.username} and no default_token"
                )
            out.append(authenticated(user, scopes, secret.get_secret_value()))
        return out

    async def aclose(self) -> None:
        """Nothing to release."""
