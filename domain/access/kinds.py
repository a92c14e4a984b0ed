"""Access op kinds: the audit facts of HQ logins and of anyone's logout. (A staff
member's PIN tries are `domain.staff`'s: they decide back-off on every replica. These
decide nothing; they are the record.)"""

from __future__ import annotations

from pydantic import Field

from sync_protocol.registry import Body, Kind


class UserLogin(Body):
    """A password tried for `username` at the HQ console, wrong or right."""

    username: str = Field(min_length=1, max_length=64)
    ok: bool


class LoggedOut(Body):
    """The op's actor logged out (or switched staff) at `location`."""

    location: str = Field(min_length=1, max_length=64)


USER_LOGIN = Kind("access.user_login", 1, UserLogin)
LOGGED_OUT = Kind("access.logged_out", 1, LoggedOut)
KINDS = (USER_LOGIN, LOGGED_OUT)
