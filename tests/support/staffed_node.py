"""A node served for real (uvicorn, in this process) whose staff came from a hub as
signed `staff.member_set` ops, and browsers that log in through its real login form
(an httpx client that keeps its cookies)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from domain.registry import REGISTRY
from edge.app import create_app
from edge.settings import EdgeSettings
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.support.access import CASHIER, MANAGER, SUPERVISOR, add_staff, bearer, node_token
from tests.support.serving import serving

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class StaffedNode:
    app: FastAPI
    url: str
    token: str  # an API token holding every node scope

    @property
    def ledger(self) -> ReplicaStore:
        ledger: ReplicaStore = self.app.state.node.ledger
        return ledger

    def browser(self) -> httpx.Client:
        """A client with a cookie jar and no login yet (the caller closes it)."""
        return httpx.Client(base_url=self.url, timeout=30, headers={"Accept": "text/html"})

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers=bearer(self.token))

    def logged_in(self, staff: tuple[str, str, str, str]) -> httpx.Client:
        """A browser logged in as `staff` (one of tests.support.access's people)."""
        client = self.browser()
        answer = log_in(client, staff[0], staff[3])
        assert answer.status_code == 303, answer.text
        return client


def csrf_token_of(html: str) -> str:
    """The first CSRF token a page's forms carry."""
    found = _CSRF_FIELD.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def log_in(client: httpx.Client, staff_id: str, pin: str) -> httpx.Response:
    """Through the real form: GET /login for its token, then POST it."""
    form = client.get("/login")
    form.raise_for_status()
    data = {"staff_id": staff_id, "pin": pin, "next": "/", "csrf_token": csrf_token_of(form.text)}
    return client.post("/login", data=data)


@contextmanager
def staffed_node(base: Path) -> Iterator[StaffedNode]:
    """A node (no sync) holding CASHIER, SUPERVISOR and MANAGER, made at its hub."""
    hub_key = NodeKey.generate()
    hub = ReplicaStore(
        f"sqlite:///{base / 'hq.db'}", origin="cloud", key=hub_key, registry=REGISTRY
    )
    try:
        add_staff(hub, CASHIER, SUPERVISOR, MANAGER)
        staff_ops = hub.ops_range("cloud", 1, hub.head("cloud"))
    finally:
        hub.close()
    settings = EdgeSettings(
        data_dir=base / "store-1", node_id="store-1", hub_public_key=hub_key.public_b64
    )
    app = create_app(settings, with_sync=False)
    app.state.node.ledger.apply(staff_ops)
    token = node_token(app.state.node.ledger)
    with serving(app) as url:
        yield StaffedNode(app, url, token)
