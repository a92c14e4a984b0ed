"""The access gate over HTTP, one behaviour per test: who may call the hub's and a
node's APIs (no login: 401; a token without the scope: 403; a revoked token: 401 at
once), whose name the ops carry (the principal's, never a body's `actor`), CSRF on a
browser session's form posts, and the session cookie (new at every login, ended by
logout, HttpOnly and SameSite=Lax).

The hub is conftest's `hub` (SQLite and PostgreSQL); the node is this module's own, its
catalog and staff signed by a hub key it trusts. Both serve the whole module, so each
test makes its own users and tokens and reads only what it wrote."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from cloud.accounts.users import create_user
from cloud.scopes import TOKEN_SCOPES as HUB_SCOPES
from domain.access.tokens import ApiToken, issue_token, revoke_token
from edge.app import create_app as create_node_app
from edge.scopes import TOKEN_SCOPES as NODE_SCOPES
from edge.settings import EdgeSettings
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.api.conftest import CATALOG, Served
from tests.support.access import (
    CASHIER,
    MANAGER,
    SUPERVISOR,
    bearer,
    csrf_field_of,
    hub_signed_catalog_and_staff,
    log_in_form,
)
from tests.support.serving import serving

PASSWORD = "correct horse battery staple"
HUB_COOKIE = "sf_session_hub"
NODE_COOKIE = "sf_session_store-1"
WATER = "6901234567890"
HTML = {"Accept": "text/html"}
_names = itertools.count(1)


@dataclass
class Node:
    app: FastAPI
    url: str

    @property
    def ledger(self) -> ReplicaStore:
        ledger: ReplicaStore = self.app.state.node.ledger
        return ledger


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node (no sync) whose catalog and staff came from its hub as signed ops."""
    base = tmp_path_factory.mktemp("access-node")
    key = NodeKey.generate()
    ops = hub_signed_catalog_and_staff(base, key, CATALOG, CASHIER, SUPERVISOR, MANAGER)
    settings = EdgeSettings(
        data_dir=base / "store-1", node_id="store-1", hub_public_key=key.public_b64
    )
    app = create_node_app(settings, with_sync=False)
    app.state.node.ledger.apply(ops)
    with serving(app) as url:
        yield Node(app, url)


# --- helpers ---------------------------------------------------------------------------


def hub_store(hub: Served) -> ReplicaStore:
    store: ReplicaStore = hub.app.state.hub.store
    return store


def token(store: ReplicaStore, scopes: set[str], known: frozenset[str]) -> tuple[str, ApiToken]:
    return issue_token(
        store.engine, "access-tests", scopes, known_scopes=known, created_by="tests", now_ms=0
    )


def hub_user(hub: Served) -> tuple[str, httpx.Client]:
    """A new admin of the module's hub and a browser (cookie jar) not yet logged in."""
    username = f"access.user{next(_names)}"
    create_user(hub_store(hub).engine, username, PASSWORD, role="admin", now_ms=system_ms())
    return username, httpx.Client(base_url=hub.url, timeout=30, headers=HTML)


@contextmanager
def logged_in_at_hub(hub: Served) -> Iterator[httpx.Client]:
    username, client = hub_user(hub)
    with client:
        answer = log_in_form(client, username=username, password=PASSWORD)
        assert answer.status_code == 303, answer.text
        yield client


@contextmanager
def logged_in_at_node(node: Node, staff: tuple[str, str, str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30, headers=HTML) as client:
        answer = log_in_form(client, staff_id=staff[0], pin=staff[3])
        assert answer.status_code == 303, answer.text
        yield client


def ops_since(store: ReplicaStore, origin: str, head: int) -> list[Op]:
    now = store.head(origin)
    return store.ops_range(origin, head + 1, now) if now > head else []


def hub_catalog(hub: Served) -> dict[str, dict[str, object]]:
    catalog: dict[str, dict[str, object]] = hub.client.get("/api/catalog").json()
    return catalog


def set_cookie(answer: httpx.Response, name: str) -> str:
    """The Set-Cookie header `answer` gives for cookie `name`."""
    found = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0]


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def probe(url: str, cookie_name: str, value: str) -> int:
    """The status of GET /api/stock sent with only this session cookie."""
    with httpx.Client(base_url=url, timeout=30, cookies={cookie_name: value}) as client:
        return client.get("/api/stock").status_code


# --- no login: 401 ---------------------------------------------------------------------


def assert_unauthenticated(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error"] == "Unauthenticated"
    assert "Log in" in body["message"]
    assert "请先登录" in body["message_zh"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_the_hub_api_without_a_token_or_session_is_401_in_english_and_chinese(
    hub: Served,
) -> None:
    assert_unauthenticated(httpx.get(f"{hub.url}/api/stock", timeout=30))


def test_the_node_api_without_a_token_or_session_is_401_in_english_and_chinese(
    node: Node,
) -> None:
    head = node.ledger.head("store-1")
    sale = {"lines": [{"sku": WATER, "qty": 1}]}
    assert_unauthenticated(httpx.post(f"{node.url}/api/sales", json=sale, timeout=30))
    assert node.ledger.head("store-1") == head


@pytest.mark.parametrize("authorization", ["Bearer sft_not-a-token", "Bearer", "Basic dXNlcg=="])
def test_an_unknown_or_malformed_token_is_401(node: Node, authorization: str) -> None:
    answer = httpx.get(
        f"{node.url}/api/stock", headers={"Authorization": authorization}, timeout=30
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["message_zh"] == "API 令牌无效、已吊销或格式错误。"


# --- a token without the scope: 403 ----------------------------------------------------


def test_a_hub_token_without_catalog_write_may_read_but_not_set_an_item(hub: Served) -> None:
    secret, _ = token(hub_store(hub), {"stock:read"}, HUB_SCOPES)
    head = hub_store(hub).head(HUB)
    reader = bearer(secret)
    assert httpx.get(f"{hub.url}/api/stock", headers=reader, timeout=30).status_code == 200
    item = {"sku": WATER, "fields": {"price_fen": 1}}
    answer = httpx.post(f"{hub.url}/api/catalog/items", json=item, headers=reader, timeout=30)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "Forbidden"
    assert "catalog:write" in answer.json()["message_zh"]
    assert hub_store(hub).head(HUB) == head


def test_a_node_token_without_sales_write_may_read_but_not_sell(node: Node) -> None:
    secret, _ = token(node.ledger, {"stock:read"}, NODE_SCOPES)
    head = node.ledger.head("store-1")
    reader = bearer(secret)
    assert httpx.get(f"{node.url}/api/stock", headers=reader, timeout=30).status_code == 200
    sale = {"lines": [{"sku": WATER, "qty": 1}]}
    answer = httpx.post(f"{node.url}/api/sales", json=sale, headers=reader, timeout=30)
    assert answer.status_code == 403, answer.text
    assert "sales:write" in answer.json()["message"]
    assert node.ledger.head("store-1") == head


def test_a_cashier_session_may_not_receive_stock(node: Node) -> None:
    with logged_in_at_node(node, CASHIER) as cashier:
        csrf = csrf_field_of(cashier.get("/").text)
        head = node.ledger.head("store-1")
        answer = cashier.post(
            "/api/stock/receive", json={"sku": WATER, "qty": 5}, headers={"X-CSRF-Token": csrf}
        )
    assert answer.status_code == 403, answer.text
    assert "stock:write" in answer.json()["message"]
    assert node.ledger.head("store-1") == head


# --- the actor is the principal's ------------------------------------------------------


def test_an_actor_in_a_hub_body_is_ignored_for_the_tokens_own(hub: Served) -> None:
    secret, issued = token(hub_store(hub), {"catalog:write"}, HUB_SCOPES)
    item = {"sku": WATER, "fields": {"price_fen": 201}, "actor": "user:li.admin"}
    answer = httpx.post(
        f"{hub.url}/api/catalog/items", json=item, headers=bearer(secret), timeout=30
    )
    assert answer.status_code == 200, answer.text
    seq = answer.json()["seq"]
    (op,) = hub_store(hub).ops_range(HUB, seq, seq)
    assert (op.kind, op.actor) == ("catalog.item_set", f"token:{issued.token_id}")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sales", {"lines": [{"sku": WATER, "qty": 1}], "actor": "M001"}),
        ("/api/stock/receive", {"sku": WATER, "qty": 3, "actor": "M001"}),
    ],
)
def test_an_actor_in_a_node_body_is_ignored_for_the_tokens_own(
    node: Node, path: str, body: dict[str, object]
) -> None:
    secret, issued = token(node.ledger, set(NODE_SCOPES), NODE_SCOPES)
    head = node.ledger.head("store-1")
    answer = httpx.post(f"{node.url}{path}", json=body, headers=bearer(secret), timeout=30)
    assert answer.status_code == 200, answer.text
    written = ops_since(node.ledger, "store-1", head)
    assert written
    assert {op.actor for op in written} == {f"token:{issued.token_id}"}


def test_an_actor_in_a_body_is_ignored_for_the_logged_in_staff_member(node: Node) -> None:
    with logged_in_at_node(node, CASHIER) as cashier:
        csrf = csrf_field_of(cashier.get("/").text)
        head = node.ledger.head("store-1")
        sale = {"lines": [{"sku": WATER, "qty": 1}], "actor": MANAGER[0]}
        answer = cashier.post("/api/sales", json=sale, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    written = ops_since(node.ledger, "store-1", head)
    assert written
    assert {op.actor for op in written} == {CASHIER[0]}


# --- a revoked token stops at once -----------------------------------------------------


def test_a_revoked_hub_token_stops_working_at_the_next_request(hub: Served) -> None:
    secret, issued = token(hub_store(hub), {"stock:read"}, HUB_SCOPES)
    with httpx.Client(base_url=hub.url, timeout=30, headers=bearer(secret)) as client:
        assert client.get("/api/stock").status_code == 200
        revoke_token(hub_store(hub).engine, issued.token_id, now_ms=system_ms())
        assert client.get("/api/stock").status_code == 401


def test_a_revoked_node_token_stops_working_at_the_next_request(node: Node) -> None:
    secret, issued = token(node.ledger, {"stock:read", "sales:write"}, NODE_SCOPES)
    with httpx.Client(base_url=node.url, timeout=30, headers=bearer(secret)) as client:
        assert client.get("/api/stock").status_code == 200
        revoke_token(node.ledger.engine, issued.token_id, now_ms=system_ms())
        head = node.ledger.head("store-1")
        answer = client.post("/api/sales", json={"lines": [{"sku": WATER, "qty": 1}]})
        assert answer.status_code == 401, answer.text
        assert node.ledger.head("store-1") == head


# --- CSRF on a session's form posts ----------------------------------------------------


@pytest.mark.parametrize("sent", ["none", "wrong", "another session's"])
def test_a_hub_form_post_without_its_sessions_csrf_token_is_403(hub: Served, sent: str) -> None:
    before = hub_catalog(hub)[WATER]
    head = hub_store(hub).head(HUB)
    with logged_in_at_hub(hub) as browser, logged_in_at_hub(hub) as other:
        form = {"sku": WATER, "price": "0.01"}
        if sent == "wrong":
            form["csrf_token"] = "not-the-token"
        elif sent == "another session's":
            form["csrf_token"] = csrf_field_of(other.get("/").text)
        answer = browser.post("/catalog", data=form)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "csrf"
        assert answer.json()["message_zh"] == "页面已过期，请刷新后重试。"
        assert browser.get("/api/stock").status_code == 200  # still logged in
    assert not [op for op in ops_since(hub_store(hub), HUB, head) if op.kind.startswith("catalog.")]
    assert hub_catalog(hub)[WATER] == before


def test_a_hub_form_post_with_its_sessions_csrf_token_works(hub: Served) -> None:
    with logged_in_at_hub(hub) as browser:
        csrf = csrf_field_of(browser.get("/").text)
        answer = browser.post("/catalog", data={"sku": WATER, "price": "2.07", "csrf_token": csrf})
    assert answer.status_code == 200, answer.text
    assert 'data-testid="catalog-saved"' in answer.text
    assert hub_catalog(hub)[WATER]["price_fen"] == 207


def test_an_htmx_post_may_send_the_csrf_token_as_a_header(hub: Served) -> None:
    with logged_in_at_hub(hub) as browser:
        csrf = csrf_field_of(browser.get("/").text)
        answer = browser.post(
            "/catalog",
            data={"sku": WATER, "price": "2.08"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
    assert answer.status_code == 200, answer.text
    assert hub_catalog(hub)[WATER]["price_fen"] == 208


@pytest.mark.parametrize("sent", ["none", "wrong"])
def test_a_node_logout_without_the_sessions_csrf_token_is_403(node: Node, sent: str) -> None:
    with logged_in_at_node(node, CASHIER) as cashier:
        data = {"csrf_token": "not-the-token"} if sent == "wrong" else {}
        answer = cashier.post("/logout", data=data)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "csrf"
        assert cashier.get("/api/stock").status_code == 200  # the session goes on


def test_a_node_logout_with_the_sessions_csrf_token_works(node: Node) -> None:
    with logged_in_at_node(node, CASHIER) as cashier:
        session = cashier.cookies[NODE_COOKIE]
        answer = cashier.post("/logout", data={"csrf_token": csrf_field_of(cashier.get("/").text)})
        assert answer.status_code == 303, answer.text
    assert probe(node.url, NODE_COOKIE, session) == 401


def test_the_login_form_needs_its_csrf_token(hub: Served) -> None:
    """Before login the token is a double-submit cookie: a login posted from elsewhere
    (login CSRF: the victim logged in as the attacker) carries neither."""
    username, browser = hub_user(hub)
    with browser:
        answer = browser.post("/login", data={"username": username, "password": PASSWORD})
        assert answer.status_code == 403, answer.text
        assert HUB_COOKIE not in browser.cookies


# --- the session cookie ----------------------------------------------------------------


def test_a_hub_login_gives_a_new_session_id_never_the_one_sent(hub: Served) -> None:
    username, browser = hub_user(hub)
    with browser:
        browser.cookies.set(HUB_COOKIE, "planted-by-an-attacker")
        answer = log_in_form(browser, username=username, password=PASSWORD)
        assert answer.status_code == 303, answer.text
        given = cookie_value(set_cookie(answer, HUB_COOKIE))
    assert given != "planted-by-an-attacker"
    assert probe(hub.url, HUB_COOKIE, "planted-by-an-attacker") == 401
    assert probe(hub.url, HUB_COOKIE, given) == 200


def test_logging_in_again_at_the_hub_ends_the_earlier_session(hub: Served) -> None:
    username, browser = hub_user(hub)
    with browser:
        first_login = log_in_form(browser, username=username, password=PASSWORD)
        first = cookie_value(set_cookie(first_login, HUB_COOKIE))
        second_login = log_in_form(browser, username=username, password=PASSWORD)
        second = cookie_value(set_cookie(second_login, HUB_COOKIE))
    assert first != second
    assert probe(hub.url, HUB_COOKIE, first) == 401
    assert probe(hub.url, HUB_COOKIE, second) == 200


def test_a_staff_switch_at_the_node_ends_the_earlier_session(node: Node) -> None:
    with httpx.Client(base_url=node.url, timeout=30, headers=HTML) as till:
        first_login = log_in_form(till, staff_id=CASHIER[0], pin=CASHIER[3])
        first = cookie_value(set_cookie(first_login, NODE_COOKIE))
        second_login = log_in_form(till, staff_id=SUPERVISOR[0], pin=SUPERVISOR[3])
        second = cookie_value(set_cookie(second_login, NODE_COOKIE))
    assert first != second
    assert probe(node.url, NODE_COOKIE, first) == 401
    assert probe(node.url, NODE_COOKIE, second) == 200


def test_a_hub_logout_ends_the_session(hub: Served) -> None:
    with logged_in_at_hub(hub) as browser:
        session = browser.cookies[HUB_COOKIE]
        csrf = csrf_field_of(browser.get("/").text)
        answer = browser.post("/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303, answer.text
        assert "max-age=0" in attributes(set_cookie(answer, HUB_COOKIE))
    assert probe(hub.url, HUB_COOKIE, session) == 401


def test_the_hub_session_cookie_is_httponly_and_samesite_lax(hub: Served) -> None:
    username, browser = hub_user(hub)
    with browser:
        answer = log_in_form(browser, username=username, password=PASSWORD)
    found = attributes(set_cookie(answer, HUB_COOKIE))
    assert {"httponly", "samesite=lax", "path=/"} <= found
    assert "secure" not in found  # served over plain HTTP here; Secure over TLS


def test_the_node_session_cookie_is_httponly_and_samesite_lax(node: Node) -> None:
    with httpx.Client(base_url=node.url, timeout=30, headers=HTML) as till:
        answer = log_in_form(till, staff_id=CASHIER[0], pin=CASHIER[3])
    found = attributes(set_cookie(answer, NODE_COOKIE))
    assert {"httponly", "samesite=lax", "path=/"} <= found


def test_the_login_pages_csrf_cookie_is_httponly_and_samesite_strict(node: Node) -> None:
    answer = httpx.get(f"{node.url}/login", headers=HTML, timeout=30)
    found = attributes(set_cookie(answer, "sf_csrf"))
    assert {"httponly", "samesite=strict", "path=/"} <= found
