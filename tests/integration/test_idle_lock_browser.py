"""The idle lock of a node's pages (web_ui/static/js/idle-lock.js), in headless Chromium:
a page left alone ends its session and asks for the PIN again, polling does not count as
someone there, and keys or a scan over SSE do. The node's lock is shortened to seconds
for the test (`app.state.idle_lock_ms`, which every page reads)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.access import CASHIER, log_in_staff
from tests.support.staffed_node import StaffedNode, staffed_node

IDLE_MS = 2_000
LOCKED = re.compile(r"/login\?idle=1&next=%2F$")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[StaffedNode]:
    with staffed_node(tmp_path) as served:
        served.app.state.idle_lock_ms = IDLE_MS
        yield served


@pytest.fixture
def page(browser: Browser, node: StaffedNode) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    log_in_staff(page, node.url, CASHIER[0], CASHIER[3])
    yield page
    context.close()


def busy_for(page: Page, seconds: float, act: str) -> None:
    """Do `act` (JavaScript) in the page every quarter of a second for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        page.evaluate(act)
        page.wait_for_timeout(250)


def test_a_page_left_alone_logs_out_and_asks_for_the_pin(node: StaffedNode, page: Page) -> None:
    expect(page).to_have_url(LOCKED, timeout=IDLE_MS * 3)  # the status page polls meanwhile
    expect(page.get_by_test_id("login-notice")).to_be_visible()
    page.goto(node.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))  # the session ended


def test_keys_keep_the_page_open(page: Page) -> None:
    busy_for(
        page,
        IDLE_MS * 2 / 1000,
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {bubbles: true}))",
    )
    expect(page).not_to_have_url(LOCKED)
    expect(page).to_have_url(LOCKED, timeout=IDLE_MS * 3)


def test_a_scan_over_sse_keeps_the_page_open(page: Page) -> None:
    scan = (
        "document.getElementById('main')"
        ".dispatchEvent(new CustomEvent('htmx:sseMessage', {bubbles: true}))"
    )
    busy_for(page, IDLE_MS * 2 / 1000, scan)
    expect(page).not_to_have_url(LOCKED)
