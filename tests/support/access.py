"""Principals for tests: API tokens issued straight into a hub's store or a node's
ledger (as `shopfloor cloud|edge issue-token` does), staff created at the hub, and a
browser logged in through the real login page."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection
from contextlib import closing
from pathlib import Path
from typing import Final

import httpx
from playwright.sync_api import Page, expect

from cloud.scopes import TOKEN_SCOPES as HUB_SCOPES
from cloud.services.catalog import set_catalog_item
from cloud.services.staff import create_staff
from domain.access.tokens import issue_token
from domain.catalog.kinds import ItemFields
from domain.registry import REGISTRY
from domain.staff.kinds import Role
from edge.scopes import TOKEN_SCOPES as NODE_SCOPES
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore

ADMIN: Final = "li.admin"
ADMIN_PASSWORD: Final = "correct horse battery staple"
CASHIER: Final = ("C001", "王芳", "cashier", "482915")
SUPERVISOR: Final = ("S001", "李强", "supervisor", "730264")
MANAGER: Final = ("M001", "张伟", "manager", "615083")


def hub_token(store: ReplicaStore, scopes: Collection[str] = HUB_SCOPES) -> str:
    """A secret for the hub's API holding `scopes` (every token scope by default)."""
    secret, _ = issue_token(
        store.engine,
        "tests",
        set(scopes),
        known_scopes=HUB_SCOPES,
        created_by="tests",
        now_ms=system_ms(),
    )
    return secret


def node_token(ledger: ReplicaStore, scopes: Collection[str] = NODE_SCOPES) -> str:
    """A secret for a node's API holding `scopes` (every token scope by default)."""
    secret, _ = issue_token(
        ledger.engine,
        "tests",
        set(scopes),
        known_scopes=NODE_SCOPES,
        created_by="tests",
        now_ms=system_ms(),
    )
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_staff(hub_store: ReplicaStore, *people: tuple[str, str, str, str]) -> None:
    """Staff accounts written at the hub, as a manager there would (they reach nodes by
    sync, or by applying the hub's ops)."""
    for staff_id, name, role, pin in people:
        role_: Role = role  # type: ignore[assignment]
        create_staff(hub_store, staff_id, name=name, role=role_, pin=pin, actor="tests")


def log_in_staff(page: Page, node_url: str, staff_id: str, pin: str, *, then: str = "/") -> None:
    """Through the node's real login page."""
    page.goto(f"{node_url}/login?next={then}")
    page.get_by_test_id("login-staff").fill(staff_id)
    page.get_by_test_id("login-pin").fill(pin)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()


def log_in_user(page: Page, hub_url: str, username: str, password: str, *, then: str = "/") -> None:
    """Through the hub's real login page."""
    page.goto(f"{hub_url}/login?next={then}")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()


def hub_signed_staff(base: Path, key: NodeKey, *people: tuple[str, str, str, str]) -> list[Op]:
    """Staff accounts as a hub holding `key` writes them (in a throwaway store under
    `base`): the signed ops to apply to a node that trusts that key."""
    store = ReplicaStore(
        f"sqlite:///{base / 'staff-hub.db'}", origin=HUB, key=key, registry=REGISTRY
    )
    try:
        add_staff(store, *people)
        return store.ops_range(HUB, 1, store.head(HUB))
    finally:
        store.close()


def staff_known_at(ledger_file: Path, staff_id: str) -> bool:
    """Whether a running node's ledger (read-only, beside the process) holds the account."""
    with closing(sqlite3.connect(f"file:{ledger_file}?mode=ro", uri=True, timeout=10)) as db:
        found = db.execute("SELECT 1 FROM staff_fields WHERE staff_id = ?", (staff_id,)).fetchone()
        return found is not None


_CSRF_FIELD: Final = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_field_of(html: str) -> str:
    """The CSRF token the first form of a page carries."""
    found = _CSRF_FIELD.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def log_in_form(client: httpx.Client, **fields: str) -> httpx.Response:
    """POST /login as a browser does, through a client that keeps its cookies: GET the
    login page (its CSRF cookie and token), then post `fields` with that token
    (`username`, `password` at the hub; `staff_id`, `pin` at a node). The answer is
    returned as it is: 303 on success."""
    page = client.get("/login", headers={"Accept": "text/html"})
    page.raise_for_status()
    return client.post("/login", data={**fields, "csrf_token": csrf_field_of(page.text)})


def hub_signed_catalog_and_staff(
    base: Path,
    key: NodeKey,
    catalog: dict[str, tuple[str, int]],
    *people: tuple[str, str, str, str],
) -> list[Op]:
    """Like :func:`hub_signed_staff`, with `catalog` ({sku: (name, price_fen)}) written
    first: one hub's ops, so a node that trusts `key` can sell the items too."""
    store = ReplicaStore(f"sqlite:///{base / 'hub-ops.db'}", origin=HUB, key=key, registry=REGISTRY)
    try:
        for sku, (name, price) in catalog.items():
            set_catalog_item(store, sku, ItemFields(name=name, price_fen=price), "tests")
        add_staff(store, *people)
        return store.ops_range(HUB, 1, store.head(HUB))
    finally:
        store.close()
