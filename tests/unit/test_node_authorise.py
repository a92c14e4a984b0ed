"""A supervisor's PIN for one action at a cashier's till (`POST /authorise` at a node):
granted only to an authoriser's right PIN, recorded as one op naming the cashier as
actor and the supervisor as `by`, refused in the till's language otherwise, and the
cashier stays logged in whatever the answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.staff.kinds import ACTION_AUTHORISED
from sync_protocol.ops import Op
from tests.support.access import CASHIER, SUPERVISOR, bearer
from tests.support.staffed_node import StaffedNode, csrf_token_of, staffed_node

WRONG_PIN = "000000"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[StaffedNode]:
    with staffed_node(tmp_path) as served:
        yield served


@pytest.fixture
def till(node: StaffedNode) -> Iterator[httpx.Client]:
    """The cashier's browser, logged in."""
    client = node.logged_in(CASHIER)
    yield client
    client.close()


def ask(
    till: httpx.Client,
    supervisor: tuple[str, str, str, str],
    pin: str | None = None,
    *,
    action: str = "void",
    lang: str = "zh-CN",
    **headers: str,
) -> httpx.Response:
    form = till.get("/authorise", params={"action": "void"})
    data = {
        "action": action,
        "supervisor_id": supervisor[0],
        "supervisor_pin": supervisor[3] if pin is None else pin,
        "detail": "sale 0042 line 3",
        "csrf_token": csrf_token_of(form.text),
    }
    return till.post("/authorise", params={"lang": lang}, data=data, headers=headers)


def authorised_ops(node: StaffedNode) -> list[Op]:
    return [op for op in node.ledger.all_ops() if op.kind == ACTION_AUTHORISED.name]


def still_logged_in(till: httpx.Client) -> bool:
    page = till.get("/")
    return page.status_code == 200 and 'data-testid="signed-in-as"' in page.text


def test_a_supervisors_pin_records_one_op_naming_the_cashier(
    node: StaffedNode, till: httpx.Client
) -> None:
    answer = ask(till, SUPERVISOR)
    assert answer.status_code == 200 and answer.json()["granted"] is True
    (op,) = authorised_ops(node)
    assert op.actor == CASHIER[0]
    assert dict(op.body) == {
        "action": "void",
        "staff_id": CASHIER[0],
        "by": SUPERVISOR[0],
        "location": "store-1",
        "detail": "sale 0042 line 3",
    }


def test_a_cashiers_own_pin_is_refused_as_not_a_supervisor(
    node: StaffedNode, till: httpx.Client
) -> None:
    answer = ask(till, CASHIER, lang="en")
    assert answer.status_code == 403
    body: dict[str, Any] = answer.json()
    assert body["granted"] is False and "may not authorise" in body["message"]
    assert authorised_ops(node) == []


def test_a_wrong_pin_is_refused_in_the_tills_language(till: httpx.Client) -> None:
    assert ask(till, SUPERVISOR, WRONG_PIN).json()["message"] == "员工编号或 PIN 错误"
    assert ask(till, SUPERVISOR, WRONG_PIN, lang="en").json()["message"] == "wrong staff id or PIN"


def test_guessing_a_supervisors_pin_backs_off(till: httpx.Client) -> None:
    for _ in range(5):
        assert ask(till, SUPERVISOR, WRONG_PIN).status_code == 403
    assert ask(till, SUPERVISOR).status_code == 429  # even the right PIN waits now


def test_the_cashier_stays_logged_in_after_a_refusal_and_a_grant(till: httpx.Client) -> None:
    ask(till, SUPERVISOR, WRONG_PIN)
    ask(till, SUPERVISOR)
    assert still_logged_in(till)


def test_htmx_gets_the_fragment_back_and_an_event(till: httpx.Client) -> None:
    answer = ask(till, SUPERVISOR, **{"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'data-granted="true"' in answer.text and "李强" in answer.text
    assert json.loads(answer.headers["HX-Trigger"]) == {
        "authorised": {"action": "void", "by": SUPERVISOR[0]}
    }


def test_htmx_gets_a_refusal_as_a_fragment_to_swap_in(till: httpx.Client) -> None:
    answer = ask(till, SUPERVISOR, WRONG_PIN, **{"HX-Request": "true"})
    assert answer.status_code == 200  # htmx swaps only 2xx: the reason must show
    assert 'data-granted="false"' in answer.text and 'data-testid="authorise-form"' in answer.text
    assert "authorise-refused" in json.loads(answer.headers["HX-Trigger"])


def test_the_grant_is_in_the_audit_trail_with_its_authoriser(
    node: StaffedNode, till: httpx.Client
) -> None:
    ask(till, SUPERVISOR, action="price_override")
    with node.api() as api:
        (entry,) = api.get("/api/audit", params={"action": "price_override"}).json()
    assert (entry["actor"], entry["subject"], entry["authorised_by"], entry["detail"]) == (
        CASHIER[0],
        CASHIER[0],
        SUPERVISOR[0],
        "sale 0042 line 3",
    )


def test_an_action_not_in_the_list_is_refused(node: StaffedNode, till: httpx.Client) -> None:
    assert ask(till, SUPERVISOR, action="open_safe").status_code == 422
    assert authorised_ops(node) == []


def test_an_api_token_is_no_one_to_authorise_for(node: StaffedNode) -> None:
    data = {"action": "void", "supervisor_id": SUPERVISOR[0], "supervisor_pin": SUPERVISOR[3]}
    answer = httpx.post(f"{node.url}/authorise", data=data, headers=bearer(node.token))
    assert answer.status_code == 403
    assert authorised_ops(node) == []
