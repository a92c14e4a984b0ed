"""The hub's staff page (staff:write): every staff account, and forms to create one
(id, name, role, first PIN), change its name or role, reset its PIN, deactivate or
reactivate it. Each change is a `staff.member_set` op naming the principal as its
actor, relayed to every node (`cloud.services.staff`); the PIN only as its hash."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse

from cloud.access import StaffWriter
from cloud.admin_pages import Answer, Name, RoleField, printable
from cloud.deps import HubDep, PagesDep
from cloud.hub import Hub
from cloud.services.staff import change_staff, create_staff
from domain.errors import BusinessRuleError
from domain.staff.kinds import ROLES as STAFF_ROLES
from domain.staff.kinds import Role
from domain.staff.queries import staff_accounts
from sync_protocol.errors import ShopfloorError

router = APIRouter()

StaffId = Annotated[str, Path(max_length=32, pattern=r"^[0-9A-Za-z._-]+$")]
Pin = Annotated[str, Form(max_length=12)]


def _staff_page(request: Request, hub: Hub, pages: PagesDep, answer: Answer) -> HTMLResponse:
    with hub.store.read() as conn:
        staff = staff_accounts(conn)
    context = {"staff": staff, "roles": STAFF_ROLES, **answer.context()}
    return pages.render(request, "admin_staff.html", context, status_code=answer.status_code)


@router.get("/admin/staff", response_class=HTMLResponse)
def staff_page(request: Request, hub: HubDep, pages: PagesDep, _: StaffWriter) -> HTMLResponse:
    return _staff_page(request, hub, pages, Answer(request, pages))


@router.post("/admin/staff", response_class=HTMLResponse)
def add_staff(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: StaffWriter,
    staff_id: Annotated[str, Form(max_length=32)],
    name: Name,
    role: RoleField,
    pin: Pin,
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        role_ = _staff_role(role)
        name = printable(name.strip())
        create_staff(hub.store, staff_id, name=name, role=role_, pin=pin, actor=who.actor)
        hub.ops_written()
        answer.done("admin.staff_created", staff_id=staff_id.strip())
    except ShopfloorError as exc:
        answer.refused(exc)
    return _staff_page(request, hub, pages, answer)


@router.post("/admin/staff/{staff_id}", response_class=HTMLResponse)
def edit_staff(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: StaffWriter,
    staff_id: StaffId,
    name: Name = "",
    role: RoleField = "",
) -> HTMLResponse:
    """Change the name and/or the role (a field left empty keeps its value)."""
    return _change_staff(
        request,
        hub,
        pages,
        who.actor,
        staff_id,
        "admin.staff_changed",
        name=name.strip() or None,
        role=role or None,
    )


@router.post("/admin/staff/{staff_id}/pin", response_class=HTMLResponse)
def reset_staff_pin(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: StaffWriter,
    staff_id: StaffId,
    pin: Pin,
) -> HTMLResponse:
    return _change_staff(request, hub, pages, who.actor, staff_id, "admin.staff_pin_reset", pin=pin)


@router.post("/admin/staff/{staff_id}/active", response_class=HTMLResponse)
def set_staff_active(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: StaffWriter,
    staff_id: StaffId,
    active: Annotated[bool, Form()],
) -> HTMLResponse:
    key = "admin.staff_reactivated" if active else "admin.staff_deactivated"
    return _change_staff(request, hub, pages, who.actor, staff_id, key, active=active)


def _change_staff(
    request: Request,
    hub: Hub,
    pages: PagesDep,
    actor: str,
    staff_id: str,
    done: str,
    **fields: Any,
) -> HTMLResponse:
    answer = Answer(request, pages)
    try:
        if fields.get("role") is not None:
            fields["role"] = _staff_role(fields["role"])
        if fields.get("name") is not None:
            fields["name"] = printable(fields["name"])
        change_staff(hub.store, staff_id, actor=actor, **fields)
        hub.ops_written()
        answer.done(done, staff_id=staff_id)
    except ShopfloorError as exc:
        answer.refused(exc)
    return _staff_page(request, hub, pages, answer)


def _staff_role(text: str) -> Role:
    if text not in STAFF_ROLES:
        raise BusinessRuleError(f"unknown role {text!r}", message_zh=f"未知角色 {text}")
    return cast(Role, text)
