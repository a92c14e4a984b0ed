"""The node's audit trail over HTTP: the page for those who may read it (a supervisor,
not a cashier), its CSV for Excel, and the JSON search for an API token; days are the
store's local days. One node serves the module: each test asserts on what it wrote or
on what every test finds (the logins that made its browsers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.audit.trail import CSV_HEADER
from tests.support.access import CASHIER, SUPERVISOR
from tests.support.staffed_node import StaffedNode, log_in, staffed_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffedNode]:
    with staffed_node(tmp_path_factory.mktemp("audit-node")) as served:
        yield served


@pytest.fixture
def supervisor(node: StaffedNode) -> Iterator[httpx.Client]:
    client = node.logged_in(SUPERVISOR)
    yield client
    client.close()


@pytest.fixture
def cashier(node: StaffedNode) -> Iterator[httpx.Client]:
    client = node.logged_in(CASHIER)
    yield client
    client.close()


@pytest.fixture
def api(node: StaffedNode) -> Iterator[httpx.Client]:
    with node.api() as client:
        yield client


def store_today(node: StaffedNode) -> str:
    return datetime.now(ZoneInfo(node.app.state.node.settings.timezone)).date().isoformat()


def test_a_cashier_may_not_open_the_audit_page(cashier: httpx.Client) -> None:
    assert cashier.get("/audit").status_code == 403


def test_a_supervisor_sees_their_own_login(supervisor: httpx.Client) -> None:
    page = supervisor.get("/audit", params={"action": "login", "actor": SUPERVISOR[0]})
    assert page.status_code == 200
    assert 'data-action="login"' in page.text
    assert SUPERVISOR[1] in page.text  # their name beside their id


def test_the_page_shows_only_the_action_asked_for(
    node: StaffedNode, supervisor: httpx.Client
) -> None:
    with node.browser() as stranger:
        assert log_in(stranger, CASHIER[0], "000000").status_code == 401
    page = supervisor.get("/audit", params={"action": "pin_failed"})
    actions = set(page.text.split('data-action="')[1:])
    assert actions and {a.split('"')[0] for a in actions} == {"pin_failed"}


def test_the_page_says_a_date_it_cannot_read(supervisor: httpx.Client) -> None:
    page = supervisor.get("/audit", params={"from": "12/01/2026"})
    assert page.status_code == 422
    assert 'data-testid="audit-error"' in page.text


def test_the_status_page_links_the_audit_page_for_those_who_may_read_it(
    supervisor: httpx.Client, cashier: httpx.Client
) -> None:
    assert 'href="/audit"' in supervisor.get("/").text
    assert 'href="/audit"' not in cashier.get("/").text


def test_the_csv_is_an_attachment_that_excel_reads_in_chinese(supervisor: httpx.Client) -> None:
    answer = supervisor.get("/audit.csv", params={"action": "login"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith("\ufeff".encode())  # the BOM
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    assert {row[2] for row in rows[1:]} == {"login"}


def test_the_api_answers_a_token(node: StaffedNode, api: httpx.Client) -> None:
    node.logged_in(SUPERVISOR).close()
    answer = api.get("/api/audit", params={"action": "login", "actor": SUPERVISOR[0]})
    assert answer.status_code == 200
    (newest, *_) = answer.json()
    assert (newest["action"], newest["subject"], newest["location"]) == (
        "login",
        SUPERVISOR[0],
        "store-1",
    )


def test_the_api_counts_the_to_day_in_and_the_day_after_out(
    node: StaffedNode, api: httpx.Client
) -> None:
    node.logged_in(SUPERVISOR).close()
    today = store_today(node)
    tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
    assert api.get("/api/audit", params={"from": today, "to": today}).json()
    assert api.get("/api/audit", params={"from": tomorrow}).json() == []


def test_the_api_takes_the_first_and_last_days_a_date_can_name(api: httpx.Client) -> None:
    answer = api.get("/api/audit", params={"from": "0001-01-01", "to": "9999-12-31"})
    assert answer.status_code == 200 and answer.json()


def test_the_api_refuses_an_unknown_action(api: httpx.Client) -> None:
    answer = api.get("/api/audit", params={"action": "drop_table"})
    assert answer.status_code == 422
    assert answer.json()["fields"] == ["query.action"]


def test_the_api_refuses_a_date_not_written_yyyy_mm_dd(api: httpx.Client) -> None:
    answer = api.get("/api/audit", params={"from": "20261201"})
    assert answer.status_code == 422
    assert answer.json()["fields"] == ["query.from"]
