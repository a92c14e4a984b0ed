"""HQ users: created by an admin (the first by `shopfloor cloud create-admin`), logged
in by password with back-off after wrong ones, roles, password change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from sqlalchemy import Engine, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from cloud.accounts.passwords import decoy_hash, hash_password, password_matches
from cloud.accounts.tables import hub_users
from domain.access.tables import access_sessions
from domain.errors import BusinessRuleError, Conflict, NotFound
from domain.staff.rules import backoff_ms
from sync_protocol.ids import new_id

UserRole = Literal["admin", "operations", "finance", "warehouse_manager", "viewer"]
USER_ROLES: Final = get_args(UserRole)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class LoginRefused(BusinessRuleError):
    """Wrong username or password (the same answer for both), or a back-off running."""


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    display_name: str
    role: str
    active: bool

    @property
    def principal(self) -> str:
        """What this user's sessions are held by (`domain.access`)."""
        return principal_of_user(self.user_id)

    @property
    def actor(self) -> str:
        """What an op this user writes names as its actor (who, readably)."""
        return f"user:{self.username}"


def principal_of_user(user_id: str) -> str:
    return f"user:{user_id}"


def create_user(
    engine: Engine,
    username: str,
    password: str,
    *,
    role: UserRole,
    display_name: str = "",
    now_ms: int,
) -> User:
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise BusinessRuleError(
            "a username is 2-64 lowercase letters, digits, '.', '_' or '-'",
            message_zh="用户名须为 2–64 位小写字母、数字、“.”、“_”或“-”",
        )
    if role not in USER_ROLES:
        raise BusinessRuleError(f"unknown role {role!r}", message_zh=f"未知角色 {role}")
    user = User(new_id(), username, display_name.strip()[:64] or username, role, True)
    row = {
        **vars(user),
        "password_hash": hash_password(password, username=username),
        "created_ms": now_ms,
        "password_changed_ms": now_ms,
        "failed_logins": 0,
        "retry_at_ms": None,
    }
    try:
        with engine.begin() as conn:
            conn.execute(hub_users.insert(), row)
    except IntegrityError as exc:
        raise Conflict(
            f"username {username} is taken", message_zh=f"用户名 {username} 已被使用"
        ) from exc
    return user


def count_admins(engine: Engine) -> int:
    u = hub_users
    with engine.connect() as conn:
        stmt = select(func.count()).where(u.c.role == "admin", u.c.active.is_(True))
        return int(conn.execute(stmt).scalar_one())


def authenticate(engine: Engine, username: str, password: str, *, now_ms: int) -> User:
    """The user whose password this is, or LoginRefused. From the 5th wrong password in
    a row the next try waits (30 s, doubling, at most 15 min), checking nothing."""
    u = hub_users
    with engine.connect() as conn:
        row = conn.execute(select(u).where(u.c.username == username.strip().lower())).first()
    if row is not None and row.retry_at_ms is not None and now_ms < row.retry_at_ms:
        seconds = -(-(row.retry_at_ms - now_ms) // 1000)
        raise LoginRefused(
            f"too many wrong passwords: try again in {seconds} s",
            message_zh=f"密码错误次数过多，请 {seconds} 秒后再试",
        )
    matched = password_matches(password, row.password_hash if row is not None else decoy_hash())
    if row is None or not row.active or not matched:
        if row is not None:
            _count_a_failure(engine, str(row.user_id), now_ms=now_ms)
        raise LoginRefused("wrong username or password", message_zh="用户名或密码错误")
    if row.failed_logins:
        with engine.begin() as conn:
            conn.execute(
                update(u)
                .where(u.c.user_id == row.user_id)
                .values(failed_logins=0, retry_at_ms=None)
            )
    return user_from_row(row)


def _count_a_failure(engine: Engine, user_id: str, *, now_ms: int) -> None:
    """One more wrong password, counted by the database (`failed_logins + 1`: two tries
    at once both count), and the back-off from the count it returns, in one transaction."""
    u = hub_users
    mine = u.c.user_id == user_id
    with engine.begin() as conn:
        failures = conn.execute(
            update(u)
            .where(mine)
            .values(failed_logins=u.c.failed_logins + 1)
            .returning(u.c.failed_logins)
        ).scalar_one()
        wait = backoff_ms(int(failures))
        conn.execute(update(u).where(mine).values(retry_at_ms=now_ms + wait if wait else None))


def change_password(engine: Engine, user_id: str, current: str, new: str, *, now_ms: int) -> None:
    """Needs the current password; ends every session of the user (the caller opens a
    new one for the browser that asked)."""
    u = hub_users
    with engine.connect() as conn:
        row = conn.execute(select(u).where(u.c.user_id == user_id)).first()
    if row is None:
        raise NotFound("no such user", message_zh="没有该用户")
    if not password_matches(current, row.password_hash):
        raise LoginRefused("the current password is wrong", message_zh="当前密码错误")
    new_hash = hash_password(new, username=row.username)
    with engine.begin() as conn:
        conn.execute(
            update(u)
            .where(u.c.user_id == user_id)
            .values(password_hash=new_hash, password_changed_ms=now_ms)
        )
        conn.execute(_sessions_of(user_id))


def set_user(
    engine: Engine, user_id: str, *, role: UserRole | None = None, active: bool | None = None
) -> User:
    """Change a user's role or deactivate them (their sessions end with it)."""
    u = hub_users
    values: dict[str, object] = {}
    if role is not None:
        if role not in USER_ROLES:
            raise BusinessRuleError(f"unknown role {role!r}", message_zh=f"未知角色 {role}")
        values["role"] = role
    if active is not None:
        values["active"] = active
    with engine.begin() as conn:
        if values:
            conn.execute(update(u).where(u.c.user_id == user_id).values(**values))
        if active is False:
            conn.execute(_sessions_of(user_id))
        row = conn.execute(select(u).where(u.c.user_id == user_id)).first()
    if row is None:
        raise NotFound("no such user", message_zh="没有该用户")
    return user_from_row(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(select(hub_users).order_by(hub_users.c.username))
        return [user_from_row(r) for r in rows]


def user_from_row(row: Row[Any]) -> User:
    return User(
        user_id=str(row.user_id),
        username=str(row.username),
        display_name=str(row.display_name),
        role=str(row.role),
        active=bool(row.active),
    )


def _sessions_of(user_id: str) -> Any:
    s = access_sessions
    return s.delete().where(s.c.principal == principal_of_user(user_id))


def user_by_id(engine: Engine, user_id: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(hub_users).where(hub_users.c.user_id == user_id)).first()
    return user_from_row(row) if row is not None else None


def user_named(engine: Engine, username: str) -> User | None:
    """The user a typed username names (case and spaces ignored), or None."""
    u = hub_users
    with engine.connect() as conn:
        row = conn.execute(select(u).where(u.c.username == username.strip().lower())).first()
    return user_from_row(row) if row is not None else None
