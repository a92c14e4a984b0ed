"""The access gate of `web_ui.access`, on a small app of its own: what it refuses, where
it sends a browser that is not logged in, and what a principal may reach. (The hub's and
the nodes' gates, with real logins and tokens, are tests/api/test_access_api.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from web_ui.access import Principal, PrincipalDep, require, safe_next
from web_ui.mount import mount_web_ui
from web_ui.pages import PagesDep

CLERK = Principal("staff", "C1", "王芳", "C1", frozenset({"sales:write"}), csrf_token="t0k")
SCRIPT = Principal("token", "tk", "script", "token:tk", frozenset({"stock:read"}))


class TwoPeople:
    """Session "clerk" is CLERK (a browser); bearer "sft_script" is SCRIPT."""

    def from_session(self, cookie: str) -> Principal | None:
        return CLERK if cookie == "clerk" else None

    def from_bearer(self, secret: str) -> Principal | None:
        return SCRIPT if secret == "sft_script" else None


def make_app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    gate = TwoPeople()
    mount_web_ui(app, [tmp_path], timezone="Asia/Shanghai", gate=lambda: gate, cookie="sf_t")

    @app.get("/login", response_class=HTMLResponse)
    def login() -> str:
        return "<form>login</form>"

    @app.get("/page", response_class=HTMLResponse)
    def page(request: Request, pages: PagesDep, who: PrincipalDep) -> HTMLResponse:
        return HTMLResponse(f"hello {who.name}")

    @app.get("/till", response_class=HTMLResponse)
    def till(who: Principal = require("sales:write")) -> str:  # noqa: B008
        return f"till of {who.actor}"

    @app.post("/api/sell")
    def sell(who: Principal = require("sales:write")) -> dict[str, str]:  # noqa: B008
        return {"actor": who.actor}

    @app.get("/api/stock")
    def stock(who: Principal = require("stock:read")) -> dict[str, str]:  # noqa: B008
        return {"actor": who.actor}

    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path), base_url="http://shop.local") as client:
        yield client


def test_a_page_without_a_login_goes_to_the_login_page_and_back(client: TestClient) -> None:
    answer = client.get("/page?x=1", headers={"accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/page%3Fx%3D1"


def test_an_htmx_request_without_a_login_sends_the_whole_page_to_the_login(
    client: TestClient,
) -> None:
    answer = client.get(
        "/page",
        headers={"hx-request": "true", "hx-current-url": "http://shop.local/ws/lane-1"},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    assert answer.headers["hx-redirect"] == "/login?next=/ws/lane-1"


def test_the_api_without_a_login_answers_401_in_both_languages(client: TestClient) -> None:
    answer = client.get("/api/stock")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"] == "Unauthenticated" and "登录" in answer.json()["message_zh"]


def test_an_unknown_bearer_token_is_401_even_with_a_good_session(client: TestClient) -> None:
    client.cookies.set("sf_t", "clerk")
    answer = client.get("/api/stock", headers={"authorization": "Bearer sft_nope"})
    assert answer.status_code == 401


def test_a_principal_without_the_scope_gets_403(client: TestClient) -> None:
    answer = client.post("/api/sell", headers={"authorization": "Bearer sft_script"})
    assert answer.status_code == 403 and "sales:write" in answer.json()["message"]


def test_a_browser_without_the_scope_gets_a_page_saying_so(client: TestClient) -> None:
    answer = client.get(
        "/till", headers={"authorization": "Bearer sft_script", "accept": "text/html"}
    )
    assert answer.status_code == 403 and 'data-testid="forbidden"' in answer.text
    assert "sales:write" in answer.text


def test_a_session_post_needs_the_sessions_csrf_token(client: TestClient) -> None:
    client.cookies.set("sf_t", "clerk")
    assert client.post("/api/sell").status_code == 403
    assert client.post("/api/sell", headers={"x-csrf-token": "wrong"}).status_code == 403
    answer = client.post("/api/sell", headers={"x-csrf-token": "t0k"})
    assert answer.status_code == 200 and answer.json() == {"actor": "C1"}


def test_a_csrf_token_in_a_form_field_is_accepted(client: TestClient) -> None:
    client.cookies.set("sf_t", "clerk")
    answer = client.post("/api/sell", data={"csrf_token": "t0k"})
    assert answer.status_code == 200


def test_a_bearer_post_needs_no_csrf_token(client: TestClient) -> None:
    answer = client.get("/api/stock", headers={"authorization": "Bearer sft_script"})
    assert answer.status_code == 200 and answer.json() == {"actor": "token:tk"}


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
    ids=["other-origin", "opaque-origin", "cross-site", "same-site-other-host"],
)
def test_a_cross_site_post_is_refused_whatever_it_carries(
    client: TestClient, headers: dict[str, str]
) -> None:
    client.cookies.set("sf_t", "clerk")
    answer = client.post(
        "/api/sell", headers={**headers, "x-csrf-token": "t0k", "authorization": "Bearer x"}
    )
    assert answer.status_code == 403 and answer.json()["error"] == "CrossSite"


def test_a_post_from_the_apps_own_origin_passes_the_origin_check(client: TestClient) -> None:
    client.cookies.set("sf_t", "clerk")
    answer = client.post(
        "/api/sell",
        headers={"origin": "http://shop.local", "sec-fetch-site": "same-origin",
                 "x-csrf-token": "t0k"},
    )  # fmt: skip
    assert answer.status_code == 200


def test_the_login_page_and_static_files_need_no_login(client: TestClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/static/js/htmx.min.js").status_code == 200


@pytest.mark.parametrize(
    ("asked", "went"),
    [("/ws/lane-1?x=1", "/ws/lane-1?x=1"), ("//evil.example/x", "/"),
     ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/"), (None, "/")],
)  # fmt: skip
def test_after_login_a_browser_goes_only_to_a_path_of_this_site(
    asked: str | None, went: str
) -> None:
    assert safe_next(asked) == went
