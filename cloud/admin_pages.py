"""The hub's admin pages: HQ users (users:write), a user's own password (anyone logged in
by password) and API tokens (users:write); staff accounts are `cloud.staff_pages`.

Every form is a plain POST carrying the session's CSRF token; the answer is the page
again, with what was done or, for a refused change (`ShopfloorError`), why, in the
user's language and with the error's status (`web_ui.errors.status_of`), never a 5xx.
Each change is an op naming the principal as its actor: the audit trail's record
(`access.user_changed`, `access.token_changed`, `staff.member_set`)."""

from __future__ import annotations

from typing import Annotated, Any, Final, cast

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloud.access import UsersAdmin
from cloud.accounts.users import (
    USER_ROLES,
    User,
    UserRole,
    change_password,
    count_admins,
    create_user,
    list_users,
    principal_of_user,
    set_user,
    user_by_id,
)
from cloud.deps import HubDep, PagesDep
from cloud.hub import Hub
from cloud.scopes import TOKEN_SCOPES
from domain.access.records import record_token_issued, record_token_revoked, record_user_changed
from domain.access.sessions import MAX_MS, open_session
from domain.access.tokens import issue_token, list_tokens, revoke_token
from domain.errors import BusinessRuleError, NotFound
from sync_protocol.errors import ShopfloorError
from sync_protocol.hlc import system_ms
from web_ui.access import PrincipalDep, session_cookie
from web_ui.errors import status_of
from web_ui.i18n import translator

router = APIRouter()

Name = Annotated[str, Form(max_length=64)]
Secret = Annotated[str, Form(max_length=128)]
RoleField = Annotated[str, Form(max_length=32)]
_UUID: Final = r"^[0-9a-f-]{1,36}$"
UserId = Annotated[str, Path(max_length=36, pattern=_UUID)]
TokenId = Annotated[str, Path(max_length=36, pattern=_UUID)]
ScopeName = Annotated[str, StringConstraints(max_length=32)]
MAX_SCOPES: Final = 16


class Answer:
    """What a form post did, for the page it renders: a notice or an error, and its status."""

    def __init__(self, request: Request, pages: PagesDep) -> None:
        self.locale = pages.locale_of(request)
        self.t = translator(self.locale)
        self.notice: str | None = None
        self.error: str | None = None
        self.status_code = 200

    def done(self, key: str, **params: object) -> None:
        self.notice = self.t(key, **params)

    def refused(self, exc: ShopfloorError) -> None:
        self.error = exc.message_zh if self.locale == "zh-CN" else exc.message
        self.status_code = status_of(exc)

    def context(self) -> dict[str, Any]:
        return {"notice": self.notice, "error": self.error}


def printable(text: str) -> str:
    """Text a person typed, refused with a control character in it (PostgreSQL refuses
    a NUL in text; the rest have no business in a name)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise BusinessRuleError(
            "control characters are not allowed in a name", message_zh="名称中不能含控制字符"
        )
    return text


# --- HQ users ---------------------------------------------------------------------------


def _users_page(request: Request, hub: Hub, pages: PagesDep, answer: Answer) -> HTMLResponse:
    context = {"users": list_users(hub.store.engine), "roles": USER_ROLES, **answer.context()}
    return pages.render(request, "admin_users.html", context, status_code=answer.status_code)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, hub: HubDep, pages: PagesDep, _: UsersAdmin) -> HTMLResponse:
    return _users_page(request, hub, pages, Answer(request, pages))


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: UsersAdmin,
    username: Name,
    role: RoleField,
    password: Secret,
    display_name: Name = "",
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        user = create_user(
            hub.store.engine,
            username,
            password,
            role=_user_role(role),
            display_name=printable(display_name),
            now_ms=system_ms(),
        )
        fields: dict[str, str | bool] = {
            "created": True,
            "role": user.role,
            "display_name": user.display_name,
        }
        _record_user(hub, user, fields, who.actor)
        answer.done("admin.user_created", username=user.username)
    except ShopfloorError as exc:
        answer.refused(exc)
    return _users_page(request, hub, pages, answer)


@router.post("/admin/users/{user_id}/role", response_class=HTMLResponse)
def change_user_role(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: UsersAdmin,
    user_id: UserId,
    role: RoleField,
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        before = _user(hub, user_id)
        new_role = _user_role(role)
        if new_role == before.role:
            raise BusinessRuleError("nothing to change", message_zh="没有需要修改的字段")
        after = _set_keeping_an_admin(hub, before, role=new_role)
        _record_user(hub, after, {"role": after.role}, who.actor)
        answer.done(
            "admin.user_role_set", username=after.username, role=answer.t(f"hq_role.{role}")
        )
    except ShopfloorError as exc:
        answer.refused(exc)
    return _users_page(request, hub, pages, answer)


@router.post("/admin/users/{user_id}/active", response_class=HTMLResponse)
def set_user_active(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: UsersAdmin,
    user_id: UserId,
    active: Annotated[bool, Form()],
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        before = _user(hub, user_id)
        if active == before.active:
            raise BusinessRuleError("nothing to change", message_zh="没有需要修改的字段")
        after = _set_keeping_an_admin(hub, before, active=active)
        _record_user(hub, after, {"active": active}, who.actor)
        key = "admin.user_reactivated" if active else "admin.user_deactivated"
        answer.done(key, username=after.username)
    except ShopfloorError as exc:
        answer.refused(exc)
    return _users_page(request, hub, pages, answer)


def _user(hub: Hub, user_id: str) -> User:
    user = user_by_id(hub.store.engine, user_id)
    if user is None:
        raise NotFound("no such user", message_zh="没有该用户")
    return user


def _user_role(text: str) -> UserRole:
    if text not in USER_ROLES:
        raise BusinessRuleError(f"unknown role {text!r}", message_zh=f"未知角色 {text}")
    return cast(UserRole, text)


_LAST_ADMIN: Final = {
    "message": "This is the last active admin: make another user admin first.",
    "message_zh": "这是最后一个有效的管理员：请先将其他用户设为管理员。",
}


def _set_keeping_an_admin(
    hub: Hub, before: User, *, role: UserRole | None = None, active: bool | None = None
) -> User:
    """set_user, refused when it would leave no active admin. Checked before, and again
    after (two admins demoting each other at once): a change that left none is undone."""
    engine = hub.store.engine
    loses_admin = before.role == "admin" and before.active
    if (
        loses_admin
        and (role not in (None, "admin") or active is False)
        and count_admins(engine) <= 1
    ):
        raise BusinessRuleError(_LAST_ADMIN["message"], message_zh=_LAST_ADMIN["message_zh"])
    after = set_user(engine, before.user_id, role=role, active=active)
    if count_admins(engine) == 0:
        set_user(engine, before.user_id, role=_user_role(before.role), active=before.active)
        raise BusinessRuleError(_LAST_ADMIN["message"], message_zh=_LAST_ADMIN["message_zh"])
    return after


def _record_user(hub: Hub, user: User, fields: dict[str, str | bool], actor: str) -> None:
    record_user_changed(hub.store, user.username, fields, actor=actor)
    hub.ops_written()


# --- my password ------------------------------------------------------------------------


def _not_a_user() -> BusinessRuleError:
    return BusinessRuleError(
        "only an HQ user logged in with a password has one to change",
        message_zh="只有以密码登录的总部用户才能修改密码",
    )


@router.get("/account/password", response_class=HTMLResponse)
def password_page(
    request: Request, pages: PagesDep, who: PrincipalDep, changed: bool = False
) -> HTMLResponse:
    answer = Answer(request, pages)
    if who.kind != "user":
        answer.refused(_not_a_user())
    elif changed:
        answer.done("account.password_changed")
    context = answer.context()
    return pages.render(request, "account_password.html", context, status_code=answer.status_code)


@router.post("/account/password", response_model=None)
def change_my_password(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: PrincipalDep,
    current: Secret,
    new: Secret,
    confirm: Secret,
) -> Response:
    """Every session of the user ends (a stolen one too); this browser gets a new one."""
    answer = Answer(request, pages)
    engine = hub.store.engine
    try:
        if who.kind != "user":
            raise _not_a_user()
        if new != confirm:
            raise BusinessRuleError(
                "the new password and its repetition differ", message_zh="两次输入的新密码不一致"
            )
        now = system_ms()
        change_password(engine, who.id, current, new, now_ms=now)
    except ShopfloorError as exc:
        answer.refused(exc)
        context = answer.context()
        return pages.render(
            request, "account_password.html", context, status_code=answer.status_code
        )
    # change_password ended every session of the user, this browser's too: a new one.
    cookie, _session = open_session(engine, principal_of_user(who.id), now_ms=now)
    record_user_changed(
        hub.store, str(who.extra.get("username", who.id)), {"password": "changed"}, actor=who.actor
    )
    hub.ops_written()
    response = RedirectResponse("/account/password?changed=true", status_code=303)
    session_cookie(response, request, cookie, max_age_s=MAX_MS // 1000)
    return response


# --- API tokens -------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    hub: Hub,
    pages: PagesDep,
    answer: Answer,
    *,
    secret: str | None = None,
) -> HTMLResponse:
    context = {
        "tokens": list_tokens(hub.store.engine),
        "token_scopes": sorted(TOKEN_SCOPES),
        "secret": secret,
        **answer.context(),
    }
    response = pages.render(request, "admin_tokens.html", context, status_code=answer.status_code)
    response.headers["Cache-Control"] = "no-store"  # a secret shown once stays out of caches
    return response


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, hub: HubDep, pages: PagesDep, _: UsersAdmin) -> HTMLResponse:
    return _tokens_page(request, hub, pages, Answer(request, pages))


@router.post("/admin/tokens", response_class=HTMLResponse)
def add_token(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: UsersAdmin,
    label: Name,
    scope: Annotated[list[ScopeName] | None, Form(max_length=MAX_SCOPES)] = None,
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        secret, token = issue_token(
            hub.store.engine,
            printable(label),
            set(scope or ()),
            known_scopes=TOKEN_SCOPES,
            created_by=who.actor,
            now_ms=system_ms(),
        )
    except ShopfloorError as exc:
        answer.refused(exc)
        return _tokens_page(request, hub, pages, answer)
    record_token_issued(hub.store, token.token_id, token.label, token.scopes, actor=who.actor)
    hub.ops_written()
    answer.done("admin.token_issued", label=token.label)
    return _tokens_page(request, hub, pages, answer, secret=secret)


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request, hub: HubDep, pages: PagesDep, who: UsersAdmin, token_id: TokenId
) -> HTMLResponse:
    answer = Answer(request, pages)
    engine = hub.store.engine
    try:
        revoke_token(engine, token_id, now_ms=system_ms())
        label = next((t.label for t in list_tokens(engine) if t.token_id == token_id), token_id)
        record_token_revoked(hub.store, token_id, label, actor=who.actor)
        hub.ops_written()
        answer.done("admin.token_revoked", label=label)
    except ShopfloorError as exc:
        answer.refused(exc)
    return _tokens_page(request, hub, pages, answer)
