"""Access op kinds: the audit facts of HQ logins, of anyone's logout, and of the
changes an admin makes to HQ users and API tokens at the hub. (A staff
member's PIN tries are `domain.staff`'s: they decide back-off on every replica. These
decide nothing; they are the record.)"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sync_protocol.registry import Body, Kind


class UserLogin(Body):
    """A password tried for `username` at the HQ console, wrong or right."""

    username: str = Field(min_length=1, max_length=64)
    ok: bool


class LoggedOut(Body):
    """The op's actor logged out (or switched staff) at `location`."""

    location: str = Field(min_length=1, max_length=64)


class UserChanged(Body):
    """HQ user `username` created or changed at the hub console: each field set, to its
    new value (`created`, `role`, `display_name`, `active`; a password only as
    `password: "changed"`, never the password or its hash)."""

    username: str = Field(min_length=1, max_length=64)
    fields: dict[str, str | bool] = Field(min_length=1)


class TokenChanged(Body):
    """API token `token_id` issued (with its scopes) or revoked at this replica."""

    token_id: str = Field(min_length=1, max_length=36)
    label: str = Field(min_length=1, max_length=64)
    change: Literal["issued", "revoked"]
    scopes: list[str] = Field(default_factory=list, max_length=16)


USER_LOGIN = Kind("access.user_login", 1, UserLogin)
LOGGED_OUT = Kind("access.logged_out", 1, LoggedOut)
USER_CHANGED = Kind("access.user_changed", 1, UserChanged)
TOKEN_CHANGED = Kind("access.token_changed", 1, TokenChanged)
KINDS = (USER_LOGIN, LOGGED_OUT, USER_CHANGED, TOKEN_CHANGED)
