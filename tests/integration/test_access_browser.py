"""Logins and the access gate in a real headless Chromium: a cashier logs in at a node
cut off from its hub; wrong PINs meet the back-off, then the lock that only a
supervisor's PIN lifts; and a page on another origin that posts a form to the hub or a
node, in a browser logged in at both, is refused and changes nothing.

The offline login runs a real hub and node (processes); the others serve the apps in
this process, so the test can move the clock the PIN checks read
(`edge.services.staff.system_ms`) past each back-off instead of waiting it out."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

import edge.services.staff
from cloud.accounts.users import create_user
from cloud.app import create_app as create_hub_app
from cloud.services.catalog import set_catalog_item
from cloud.settings import HubSettings
from domain.catalog.kinds import ItemFields
from domain.catalog.queries import catalog
from edge.app import create_app as create_node_app
from edge.settings import EdgeSettings
from sync_protocol.hlc import system_ms
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.integration.cluster import CATALOG, Cluster, wait_until
from tests.support.access import (
    ADMIN,
    ADMIN_PASSWORD,
    CASHIER,
    SUPERVISOR,
    hub_signed_catalog_and_staff,
    log_in_form,
    log_in_staff,
    log_in_user,
    staff_known_at,
)
from tests.support.broker import BrokerProcess
from tests.support.serving import serving

COLA = list(CATALOG)[1]
WRONG_PIN = "000111"
MINUTE_MS = 60_000


# --- the node and the hub in this process ----------------------------------------------


@dataclass
class Served:
    app: FastAPI
    url: str

    @property
    def store(self) -> ReplicaStore:
        """The node's ledger, or the hub's store."""
        state = self.app.state
        store: ReplicaStore = state.node.ledger if hasattr(state, "node") else state.hub.store
        return store


@contextmanager
def served_node(base: Path) -> Iterator[Served]:
    """A node (no sync) whose catalog and staff its hub signed."""
    key = NodeKey.generate()
    ops = hub_signed_catalog_and_staff(base, key, CATALOG, CASHIER, SUPERVISOR)
    settings = EdgeSettings(
        data_dir=base / "store-1", node_id="store-1", hub_public_key=key.public_b64
    )
    app = create_node_app(settings, with_sync=False)
    app.state.node.ledger.apply(ops)
    with serving(app) as url:
        yield Served(app, url)


class Clock:
    """What the PIN checks take for now: the real time, moved on by `ahead_ms`."""

    def __init__(self) -> None:
        self.ahead_ms = 0

    def __call__(self) -> int:
        return system_ms() + self.ahead_ms


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Served]:
    with served_node(tmp_path) as served:
        yield served


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(edge.services.staff, "system_ms", clock)
    return clock


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


def try_pin(page: Page, node_url: str, staff_id: str, pin: str) -> Response:
    """One try at the node's login page; the answer to its POST."""
    if page.url != f"{node_url}/login":
        page.goto(f"{node_url}/login")
    page.get_by_test_id("login-staff").fill(staff_id)
    page.get_by_test_id("login-pin").fill(pin)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("login-submit").click()
    return answer.value


def lock_out(node_url: str, staff_id: str, clock: Clock) -> None:
    """Twenty wrong PINs through the login form, each answered as a wrong PIN: the
    clock is past every back-off (none is longer than 15 minutes)."""
    clock.ahead_ms = 16 * MINUTE_MS
    with httpx.Client(base_url=node_url, timeout=30) as till:
        for n in range(1, 21):
            answer = log_in_form(till, staff_id=staff_id, pin=WRONG_PIN)
            assert answer.status_code == 401, f"try {n}: {answer.status_code}"


# --- offline login ---------------------------------------------------------------------


def test_a_cashier_logs_in_at_the_node_with_the_hub_unreachable(
    private_broker: BrokerProcess, tmp_path: Path, page: Page
) -> None:
    cluster = Cluster(
        tmp_path / "cluster", private_broker, f"sqlite:///{tmp_path / 'hub.db'}", ["store-1"]
    )
    try:
        cluster.start_all()
        ledger = cluster.base / "store-1" / "ledger.db"
        wait_until(lambda: staff_known_at(ledger, CASHIER[0]), 30, "the staff at the store")
        cluster.stop("hub")
        private_broker.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(cluster.url("hub") + "/healthz", timeout=5)
        log_in_staff(page, cluster.url("store-1"), CASHIER[0], CASHIER[3])
        expect(page.get_by_test_id("signed-in-as")).to_contain_text(CASHIER[1])
    finally:
        cluster.close()
        print(cluster.logs())


# --- back-off and lock-out -------------------------------------------------------------


def test_five_wrong_pins_make_the_next_try_wait(node: Served, page: Page) -> None:
    for _ in range(5):
        answer = try_pin(page, node.url, CASHIER[0], WRONG_PIN)
        assert answer.status == 401
        expect(page.get_by_test_id("login-error")).to_have_text("员工编号或 PIN 错误")
    answer = try_pin(page, node.url, CASHIER[0], CASHIER[3])  # the right one: not checked
    assert answer.status == 429
    backoff = re.compile(r"^PIN 错误次数过多，请 (\d+) 秒后再试$")
    expect(page.get_by_test_id("login-error")).to_have_text(backoff)
    waited = backoff.match(page.get_by_test_id("login-error").inner_text())
    assert waited is not None and 20 <= int(waited.group(1)) <= 30  # 30 s, less the typing
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)


def test_twenty_wrong_pins_lock_the_account_even_against_the_right_pin(
    node: Served, page: Page, clock: Clock
) -> None:
    lock_out(node.url, CASHIER[0], clock)
    clock.ahead_ms += 24 * 60 * MINUTE_MS  # a day later: a lock is not a back-off
    answer = try_pin(page, node.url, CASHIER[0], CASHIER[3])
    assert answer.status == 423
    expect(page.get_by_test_id("login-error")).to_contain_text("已锁定")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)


def test_a_supervisors_unlock_lets_the_locked_cashier_log_in(
    node: Served, page: Page, clock: Clock
) -> None:
    lock_out(node.url, CASHIER[0], clock)
    assert try_pin(page, node.url, CASHIER[0], CASHIER[3]).status == 423
    page.goto(f"{node.url}/login/unlock")
    page.get_by_test_id("unlock-staff").fill(CASHIER[0])
    page.get_by_test_id("unlock-supervisor").fill(SUPERVISOR[0])
    page.get_by_test_id("unlock-pin").fill(SUPERVISOR[3])
    page.get_by_test_id("unlock-submit").click()
    expect(page.get_by_test_id("unlock-done")).to_be_visible()
    log_in_staff(page, node.url, CASHIER[0], CASHIER[3])
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(CASHIER[1])


def test_a_cashiers_pin_does_not_unlock_a_colleague(node: Served, page: Page, clock: Clock) -> None:
    lock_out(node.url, SUPERVISOR[0], clock)
    page.goto(f"{node.url}/login/unlock")
    page.get_by_test_id("unlock-staff").fill(SUPERVISOR[0])
    page.get_by_test_id("unlock-supervisor").fill(CASHIER[0])
    page.get_by_test_id("unlock-pin").fill(CASHIER[3])
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("unlock-submit").click()
    assert answer.value.status == 403
    expect(page.get_by_test_id("unlock-error")).to_be_visible()
    assert try_pin(page, node.url, SUPERVISOR[0], SUPERVISOR[3]).status == 423


# --- cross-site forms ------------------------------------------------------------------


@dataclass
class Sites:
    hub: Served
    node: Served
    attacker: dict[str, str]  # path → the HTML it serves
    attacker_port: int
    victim_state: Any = None  # the victim's cookies, once logged in (storage_state)

    def attack(self, host: str, name: str, action: str, fields: dict[str, str], **form: str) -> str:
        """The URL of a page on `host` whose form posts `fields` to `action` by itself."""
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in fields.items()
        )
        extra = "".join(f' {k}="{html.escape(v)}"' for k, v in form.items())
        self.attacker[name] = (
            f'<!doctype html><form id="f" method="post" action="{html.escape(action)}"{extra}>'
            f"{inputs}</form><script>document.getElementById('f').submit()</script>"
        )
        return f"http://{host}:{self.attacker_port}/{name}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """A hub (ADMIN, the catalog), a node (staff, the catalog) and an attacker's site,
    each on its own port."""
    base = tmp_path_factory.mktemp("sites")
    hub_app = create_hub_app(
        HubSettings(data_dir=base / "hub", db=f"sqlite:///{base / 'hub.db'}"), with_ingest=False
    )
    store: ReplicaStore = hub_app.state.hub.store
    for sku, (name, price) in CATALOG.items():
        set_catalog_item(store, sku, ItemFields(name=name, price_fen=price), "tests")
    create_user(store.engine, ADMIN, ADMIN_PASSWORD, role="admin", now_ms=system_ms())
    pages: dict[str, str] = {}
    attacker = FastAPI()

    @attacker.get("/{name}", response_class=HTMLResponse)
    def page_of(name: str) -> str:
        return pages[name]

    with (
        served_node(base) as node,
        serving(hub_app) as hub_url,
        serving(attacker) as attacker_url,
    ):
        port = int(attacker_url.rsplit(":", 1)[1])
        yield Sites(Served(hub_app, hub_url), node, pages, port)


@pytest.fixture
def victim(browser: Browser, sites: Sites) -> Iterator[BrowserContext]:
    """A browser logged in at the hub (an admin) and at the node (a cashier): through
    the login pages once, then by the cookies the first login got (the tests refuse
    every logout, so those sessions stay alive)."""
    if sites.victim_state is None:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        log_in_user(page, sites.hub.url, ADMIN, ADMIN_PASSWORD)
        log_in_staff(page, sites.node.url, CASHIER[0], CASHIER[3])
        page.close()
        sites.victim_state = context.storage_state()
    else:
        context = browser.new_context(locale="zh-CN", storage_state=sites.victim_state)
    yield context
    context.close()


def opened(context: BrowserContext, url: str, target: str) -> Response:
    """Open the attacker's page at `url`; the answer to the POST its form sent `target`."""
    page = context.new_page()
    with page.expect_response(lambda r: r.url == target and r.request.method == "POST") as answer:
        page.goto(url)
    return answer.value


def refused_cross_site(answer: Response, cookie: str, *, same_site: bool) -> None:
    assert answer.status == 403, answer.text()
    assert answer.json()["error"] == "CrossSite"
    assert answer.json()["message_zh"] == "已拒绝：该请求来自其他网站。"
    if same_site:  # another port of the same host: the browser sent its session along
        assert cookie in answer.request.all_headers().get("cookie", "")


def hub_price(sites: Sites) -> int:
    with sites.hub.store.read() as conn:
        return int(catalog(conn)[COLA]["price_fen"])


def still_logged_in(context: BrowserContext, url: str) -> None:
    page = context.new_page()
    page.goto(url + "/")
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    page.close()


ATTACKER_HOSTS = pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost"], ids=["same-site", "cross-site"]
)


@ATTACKER_HOSTS
def test_a_form_on_another_origin_cannot_set_a_hub_price(
    sites: Sites, victim: BrowserContext, host: str
) -> None:
    before = hub_price(sites)
    target = f"{sites.hub.url}/catalog"
    url = sites.attack(host, "price", target, {"sku": COLA, "name": "", "price": "0.01"})
    refused_cross_site(opened(victim, url, target), "sf_session_hub", same_site=host == "127.0.0.1")
    assert hub_price(sites) == before
    still_logged_in(victim, sites.hub.url)


def test_a_form_on_another_origin_cannot_log_out_of_the_hub(
    sites: Sites, victim: BrowserContext
) -> None:
    target = f"{sites.hub.url}/logout"
    url = sites.attack("127.0.0.1", "hub-logout", target, {})
    refused_cross_site(opened(victim, url, target), "sf_session_hub", same_site=True)
    still_logged_in(victim, sites.hub.url)


@ATTACKER_HOSTS
def test_a_form_on_another_origin_cannot_sell_at_the_node(
    sites: Sites, victim: BrowserContext, host: str
) -> None:
    """A text/plain form that writes a JSON body (`{"lines": …, "x": "=…"}`): what a
    cross-site form can send an API that trusted the session cookie alone."""
    head = sites.node.store.head("store-1")
    body = json.dumps({"lines": [{"sku": COLA, "qty": 1}], "x": ""})
    target = f"{sites.node.url}/api/sales"
    url = sites.attack(host, "sale", target, {body[:-2]: '"}'}, enctype="text/plain")
    refused_cross_site(
        opened(victim, url, target), "sf_session_store-1", same_site=host == "127.0.0.1"
    )
    assert sites.node.store.head("store-1") == head
    still_logged_in(victim, sites.node.url)


def test_a_form_on_another_origin_cannot_log_out_of_the_node(
    sites: Sites, victim: BrowserContext
) -> None:
    target = f"{sites.node.url}/logout"
    url = sites.attack("127.0.0.1", "node-logout", target, {})
    refused_cross_site(opened(victim, url, target), "sf_session_store-1", same_site=True)
    still_logged_in(victim, sites.node.url)
