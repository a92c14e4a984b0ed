"""A supervisor's PIN for one action at a colleague's till: a void, a refund, a price
override, a discount over the cashier's limit, opening the drawer without a sale.

`POST /authorise` (any logged-in staff member: the cashier asking) checks the
authoriser's id and PIN (`edge.services.staff.authorise`: the same back-off and
lock-out as a login, and the role must be one that may authorise) and records the
grant as a `staff.action_authorised` op: its actor is the cashier, `by` the authoriser.
The cashier's session is not touched, granted or refused.

One URL, two renderings: an htmx request gets `_authorise.html` back (the outcome, or
the form again with the reason), always 200 so that htmx swaps it in, with an
`HX-Trigger` event (`authorised` or `authorise-refused`, detail: action, by) for the
page to act on. Anything else gets JSON with the true status: 200 granted; 403 a wrong
id or PIN or not an authoriser; 423 the authoriser is locked out; 429 back-off.
`GET /authorise?action=void` gives an empty form for a page to load where it needs one."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from domain.staff.kinds import ACTION_AUTHORISED, AuthorisedAction
from edge.deps import NodeDep, PagesDep
from edge.services.staff import (
    LoggedIn,
    NotAnAuthoriser,
    PinBackoff,
    PinRefused,
    StaffLocked,
    authorise,
)
from sync_protocol.errors import ShopfloorError
from sync_protocol.store import ReplicaStore
from web_ui.access import NotAllowed, Principal, PrincipalDep
from web_ui.i18n import translator

router = APIRouter()

FRAGMENT: Final = "_authorise.html"
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]*$"
Detail = Annotated[str, Form(max_length=200, pattern=_PRINTABLE)]


def authorise_action(
    ledger: ReplicaStore,
    action: str,
    *,
    cashier: str,
    authoriser_id: str,
    authoriser_pin: str,
    detail: str = "",
) -> LoggedIn:
    """Check the authoriser's PIN (raising what `authorise` raises) and record that they
    authorised `action` for `cashier` here."""
    authoriser = authorise(ledger, authoriser_id, authoriser_pin)
    body = {
        "action": action,
        "staff_id": cashier,
        "by": authoriser.staff_id,
        "location": ledger.origin,
        "detail": detail,
    }
    with ledger.write() as txn:
        txn.append(ACTION_AUTHORISED.name, body, cashier)
    return authoriser


def _staff_member(principal: PrincipalDep) -> Principal:
    if principal.kind != "staff":  # an API token is no one at a till to authorise for
        raise NotAllowed("a staff login")
    return principal


StaffMember = Annotated[Principal, Depends(_staff_member)]


def _status(exc: ShopfloorError) -> int:
    if isinstance(exc, PinBackoff):
        return 429
    if isinstance(exc, StaffLocked):
        return 423
    return 403  # a wrong id or PIN, or not an authoriser: the cashier stays logged in


@router.get("/authorise", response_class=HTMLResponse)
def authorise_form(
    request: Request,
    pages: PagesDep,
    _: StaffMember,
    action: Annotated[AuthorisedAction, Query()],
    detail: Annotated[str, Query(max_length=200, pattern=_PRINTABLE)] = "",
) -> HTMLResponse:
    return _fragment(request, pages, action, detail)


@router.post("/authorise", response_model=None)
def authorise_one_action(
    request: Request,
    node: NodeDep,
    pages: PagesDep,
    cashier: StaffMember,
    action: Annotated[AuthorisedAction, Form()],
    supervisor_id: Annotated[str, Form(max_length=32)],
    supervisor_pin: Annotated[str, Form(max_length=12)],
    detail: Detail = "",
) -> Response:
    locale = pages.locale_of(request)
    t = translator(locale)
    try:
        authoriser = authorise_action(
            node.ledger,
            action,
            cashier=cashier.id,
            authoriser_id=supervisor_id.strip(),
            authoriser_pin=supervisor_pin,
            detail=detail.strip(),
        )
    except (PinRefused, PinBackoff, StaffLocked, NotAnAuthoriser) as exc:
        node.ops_written()  # the wrong PIN is an op too
        message = exc.message_zh if locale == "zh-CN" else exc.message
        return _answer(request, pages, action, detail, False, message, None, _status(exc))
    node.ops_written()
    message = t("authorise.granted", action=t(f"audit.action.{action}"), name=authoriser.name)
    return _answer(request, pages, action, detail, True, message, authoriser, 200)


def _answer(
    request: Request,
    pages: PagesDep,
    action: str,
    detail: str,
    granted: bool,
    message: str,
    by: LoggedIn | None,
    status: int,
) -> Response:
    event = {
        "authorised" if granted else "authorise-refused": {
            "action": action,
            "by": by.staff_id if by else None,
        }
    }
    if request.headers.get("hx-request") == "true":
        outcome = {"granted": granted, "message": message}
        response: Response = _fragment(request, pages, action, detail, outcome=outcome)
    else:
        body: dict[str, Any] = {
            "granted": granted,
            "action": action,
            "by": by.staff_id if by else None,
            "by_name": by.name if by else None,
            "message": message,
        }
        response = JSONResponse(body, status_code=status)
    response.headers["HX-Trigger"] = json.dumps(event)
    return response


def _fragment(
    request: Request,
    pages: PagesDep,
    action: str,
    detail: str,
    *,
    outcome: dict[str, Any] | None = None,
) -> HTMLResponse:
    context = {"action": action, "detail": detail, "outcome": outcome}
    return pages.render(request, FRAGMENT, context)
