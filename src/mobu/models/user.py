"""Users that monkeys run as."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_ID", "AuthenticatedUser", "Group", "User", "UserSpec"]

MAX_ID = 4_294_967_294
"""Largest POSIX UID or GID (2**32 - 2; 2**32 - 1 is the "no id" value)."""

USERNAME_PATTERN = r"^bot-mobu[a-z0-9._-]{0,55}$"
"""Every monkey username starts with ``bot-mobu`` so bots are recognisable on the platform."""


class Group(BaseModel):
    """A group a user belongs to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, description="Group name")
    id: int | None = Field(None, strict=True, ge=1, le=MAX_ID, description="Numeric GID")


class User(BaseModel):
    """A user to run a monkey as, given explicitly."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        ...,
        pattern=USERNAME_PATTERN,
        description="Username: starts with bot-mobu, then lowercase letters, digits, '.', '_', '-'",
        examples=["bot-mobu-user01"],
    )
    uidnumber: int | None = Field(None, strict=True, ge=1, le=MAX_ID, description="UID of the user")
    gidnumber: int | None = Field(
        None, strict=True, ge=1, le=MAX_ID, description="Primary GID; defaults to the UID"
    )
    groups: list[Group] = Field(default_factory=list, description="Supplemental groups")


class UserSpec(BaseModel):
    """Specification for generating numbered users."""

    model_config = ConfigDict(extra="forbid")

    username_prefix: str = Field(
        ...,
        pattern=r"^bot-mobu[a-z0-9._-]{0,45}$",
        description="Prefix of the generated usernames; a zero-padded number is appended",
        examples=["bot-mobu-user"],
    )
    uid_start: int | None = Field(
        None, strict=True, ge=1, le=MAX_ID, description="UID of the first user"
    )
    gid_start: int | None = Field(
        None, strict=True, ge=1, le=MAX_ID, description="GID of the first user"
    )
    groups: list[Group] = Field(default_factory=list, description="Groups of every user")


class AuthenticatedUser(BaseModel):
    """A user together with the credentials a business uses."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(..., description="Username")
    name: str | None = Field(
        None, description="Full name, when the identity provider knows it (Gafaelfawr does)"
    )
    uidnumber: int | None = Field(None, description="UID")
    gidnumber: int | None = Field(None, description="Primary GID")
    groups: list[Group] = Field(default_factory=list, description="Groups")
    scopes: list[str] = Field(default_factory=list, description="Scopes of the token")
    token: str | None = Field(
        None, description="Bearer token; never included in API output", exclude=True, repr=False
    )
