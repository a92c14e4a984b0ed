"""The node's status page and the HQ console, in a real headless Chromium.

One hub and one node serve the whole module (starting them is the slow part), so each
test asserts changes relative to what it found."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.cluster import CATALOG, Cluster, wait_until
from tests.support.access import (
    ADMIN,
    ADMIN_PASSWORD,
    MANAGER,
    log_in_staff,
    log_in_user,
    staff_known_at,
)
from tests.support.broker import BrokerProcess

COLA = list(CATALOG)[1]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("ui")
    broker = BrokerProcess(base / "broker")
    broker.start()
    cluster = Cluster(base / "cluster", broker, f"sqlite:///{base / 'hub.db'}", ["store-1"])
    try:
        cluster.start_all()
        wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "the catalog")
        ledger = cluster.base / "store-1" / "ledger.db"
        wait_until(lambda: staff_known_at(ledger, MANAGER[0]), 30, "the staff accounts")
        yield cluster
    finally:
        cluster.close()
        broker.stop()
        print(cluster.logs())


@pytest.fixture
def page(browser: Browser, running: Cluster) -> Iterator[Page]:
    """A browser logged in at the store (a manager, by PIN) and at HQ (an admin): each
    app has its own session cookie, so one browser holds both."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    log_in_staff(page, running.url("store-1"), MANAGER[0], MANAGER[3])
    log_in_user(page, running.url("hub"), ADMIN, ADMIN_PASSWORD)
    yield page
    context.close()


def qty_at_store(cluster: Cluster) -> int:
    return cluster.node_stock("store-1")[COLA]


def price_at_store(cluster: Cluster) -> int:
    return int({r["sku"]: r["price_fen"] for r in cluster.get("store-1", "/api/stock")}[COLA])


def test_the_node_status_page_shows_stock_and_sync_state_in_chinese(
    running: Cluster, page: Page
) -> None:
    before = qty_at_store(running)
    running.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 12})
    page.goto(running.url("store-1") + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    row = page.locator(f'[data-testid="stock-table"] tr[data-sku="{COLA}"]')
    expect(row).to_contain_text("可口可乐 330ml")
    expect(row).to_contain_text("¥")
    expect(row.locator('[data-testid="qty"]')).to_have_text(str(before + 12))
    expect(page.get_by_test_id("sync-state")).to_have_text("已连接", timeout=10_000)
    expect(page.get_by_test_id("ops-waiting")).to_have_text("0", timeout=10_000)


def test_the_status_page_updates_itself_as_sales_happen(running: Cluster, page: Page) -> None:
    before = qty_at_store(running)
    page.goto(running.url("store-1") + "/")
    qty = page.locator(f'[data-testid="stock-table"] tr[data-sku="{COLA}"] [data-testid="qty"]')
    expect(qty).to_have_text(str(before))
    running.post("store-1", "/api/sales", {"lines": [{"sku": COLA, "qty": 2}]})
    expect(qty).to_have_text(str(before - 2), timeout=10_000)  # htmx refreshes the panel


def test_the_status_page_switches_to_english_and_remembers_it(running: Cluster, page: Page) -> None:
    page.goto(running.url("store-1") + "/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("sync-state")).to_have_text(
        re.compile("connected", re.I), timeout=10_000
    )
    page.goto(running.url("store-1") + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_console_shows_consolidated_stock_and_node_state(running: Cluster, page: Page) -> None:
    running.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 5})
    at_store = qty_at_store(running)
    wait_until(
        lambda: running.hub_stock().get((COLA, "store-1")) == at_store, 30, "the hub to catch up"
    )
    page.goto(running.url("hub") + "/")
    node = page.locator('[data-testid="nodes-table"] tr[data-node="store-1"]')
    expect(node).to_contain_text("在线", timeout=10_000)
    expect(node.get_by_test_id("backlog")).to_have_text("0")
    row = page.locator(f'[data-testid="stock-table"] tr[data-sku="{COLA}"]')
    expect(row.get_by_test_id("total")).to_have_text(str(at_store))


def test_a_price_set_in_the_console_reaches_the_store(running: Cluster, page: Page) -> None:
    new_price = price_at_store(running) + 49
    page.goto(running.url("hub") + "/")
    page.get_by_test_id("catalog-sku").fill(COLA)
    page.get_by_test_id("catalog-price").fill(f"{new_price / 100:.2f}")
    page.get_by_test_id("catalog-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("catalog-saved")).to_contain_text("已保存")
    wait_until(lambda: price_at_store(running) == new_price, 30, "the new price at the store")


def test_a_bad_price_in_the_console_is_refused_with_a_message(running: Cluster, page: Page) -> None:
    before = price_at_store(running)
    page.goto(running.url("hub") + "/")
    page.get_by_test_id("catalog-sku").fill(COLA)
    page.get_by_test_id("catalog-price").fill("3.999")
    page.get_by_test_id("catalog-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("catalog-error")).to_contain_text("金额无效")
    assert price_at_store(running) == before
