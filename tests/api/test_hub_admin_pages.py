"""The hub's admin and audit pages over HTTP, as a browser uses them: a real user logs in
through POST /login, the cookies stay in the client, and every form sends the CSRF
token its page carried. Each test gets its own hub (SQLite), so who is admin is its own."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cloud.accounts.users import UserRole, count_admins, create_user, list_users
from cloud.app import create_app
from cloud.hub import Hub
from cloud.settings import HubSettings
from domain.audit.trail import CSV_HEADER
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from tests.support.access import bearer
from tests.support.serving import serving

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_SECRET = re.compile(r'data-testid="token-secret">(sft_[^<]+)<')


@dataclass
class ServedHub:
    hub: Hub
    url: str

    def user(self, username: str, role: UserRole) -> Browser:
        """A user of this role, logged in through the login page."""
        create_user(self.hub.store.engine, username, PASSWORD, role=role, now_ms=system_ms())
        browser = Browser(httpx.Client(base_url=self.url, timeout=30))
        browser.log_in(username, PASSWORD)
        return browser

    def ops(self, kind: str) -> list[Op]:
        store = self.hub.store
        return [op for op in store.ops_range("cloud", 1, store.head("cloud")) if op.kind == kind]


@dataclass
class Browser:
    client: httpx.Client

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params, headers={"Accept": "text/html"})

    def log_in(self, username: str, password: str) -> None:
        form = self.get("/login")
        answer = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(form)},
        )
        assert answer.status_code == 303, answer.text

    def submit(self, page: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """Open `page`, then post `data` to `action` with the token that page carried."""
        token = csrf_of(self.get(page))
        return self.client.post(action, data={**data, "csrf_token": token})


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedHub]:
    app = create_app(
        HubSettings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'hub.db'}"), with_ingest=False
    )
    with serving(app) as url:
        yield ServedHub(app.state.hub, url)


# --- staff -------------------------------------------------------------------------------


def test_an_operations_user_creates_staff_named_as_the_actor(served: ServedHub) -> None:
    ops = served.user("ops.wang", "operations")
    answer = ops.submit(
        "/admin/staff",
        "/admin/staff",
        {"staff_id": "C101", "name": "王芳", "role": "cashier", "pin": "482915"},
    )
    assert answer.status_code == 200 and 'data-testid="notice"' in answer.text
    (created,) = [op for op in served.ops("staff.member_set") if op.body["staff_id"] == "C101"]
    assert created.actor == "user:ops.wang"
    assert 'data-staff="C101"' in answer.text and "482915" not in answer.text


def test_a_weak_pin_is_refused_on_the_page_in_chinese(served: ServedHub) -> None:
    ops = served.user("ops.wang", "operations")
    answer = ops.submit(
        "/admin/staff",
        "/admin/staff",
        {"staff_id": "C102", "name": "李娜", "role": "cashier", "pin": "123456"},
    )
    assert answer.status_code == 422
    assert "PIN 不能是重复数字或连续数字" in answer.text
    assert served.ops("staff.member_set") == []


def test_a_staff_member_is_deactivated_by_the_page(served: ServedHub) -> None:
    ops = served.user("ops.wang", "operations")
    new = {"staff_id": "C103", "name": "赵磊", "role": "cashier", "pin": "482915"}
    ops.submit("/admin/staff", "/admin/staff", new)
    answer = ops.submit("/admin/staff", "/admin/staff/C103/active", {"active": "false"})
    assert answer.status_code == 200
    last = served.ops("staff.member_set")[-1]
    assert (last.body, last.actor) == (
        {"staff_id": "C103", "fields": {"active": False}},
        "user:ops.wang",
    )


# --- users -------------------------------------------------------------------------------


def test_a_viewer_is_refused_the_users_page(served: ServedHub) -> None:
    viewer = served.user("zhou.viewer", "viewer")
    assert viewer.get("/admin/users").status_code == 403


def test_creating_a_user_is_recorded_for_the_audit_trail(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    answer = admin.submit(
        "/admin/users",
        "/admin/users",
        {"username": "chen.fin", "display_name": "陈会计", "role": "finance", "password": PASSWORD},
    )
    assert answer.status_code == 200 and 'data-user="chen.fin"' in answer.text
    (changed,) = served.ops("access.user_changed")
    assert changed.actor == "user:li.admin"
    assert changed.body == {
        "username": "chen.fin",
        "fields": {"created": True, "role": "finance", "display_name": "陈会计"},
    }
    assert PASSWORD not in str(changed.body)


def test_the_last_admin_cannot_be_demoted(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    (me,) = list_users(served.hub.store.engine)
    answer = admin.submit("/admin/users", f"/admin/users/{me.user_id}/role", {"role": "viewer"})
    assert answer.status_code == 422 and "最后一个有效的管理员" in answer.text
    assert count_admins(served.hub.store.engine) == 1
    assert served.ops("access.user_changed") == []


def test_the_last_admin_cannot_be_deactivated(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    (me,) = list_users(served.hub.store.engine)
    answer = admin.submit("/admin/users", f"/admin/users/{me.user_id}/active", {"active": "false"})
    assert answer.status_code == 422
    assert admin.get("/admin/users").status_code == 200  # still logged in, still admin


def test_an_admin_may_be_demoted_while_another_remains(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    create_user(served.hub.store.engine, "he.admin", PASSWORD, role="admin", now_ms=system_ms())
    other = next(u for u in list_users(served.hub.store.engine) if u.username == "he.admin")
    answer = admin.submit("/admin/users", f"/admin/users/{other.user_id}/role", {"role": "viewer"})
    assert answer.status_code == 200
    assert count_admins(served.hub.store.engine) == 1


# --- my password ---------------------------------------------------------------------------


def test_changing_my_password_ends_my_other_sessions_not_this_one(served: ServedHub) -> None:
    here = served.user("ops.wang", "operations")
    elsewhere = Browser(httpx.Client(base_url=served.url, timeout=30))
    elsewhere.log_in("ops.wang", PASSWORD)
    new = "a much newer passphrase"
    answer = here.submit(
        "/account/password",
        "/account/password",
        {"current": PASSWORD, "new": new, "confirm": new},
    )
    assert answer.status_code == 303
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 303  # to the login page
    elsewhere.log_in("ops.wang", new)


def test_a_wrong_current_password_is_said_on_the_page(served: ServedHub) -> None:
    here = served.user("ops.wang", "operations")
    answer = here.submit(
        "/account/password",
        "/account/password",
        {"current": "not my password", "new": "a much newer one", "confirm": "a much newer one"},
    )
    assert answer.status_code == 422 and "当前密码错误" in answer.text
    assert here.get("/").status_code == 200


# --- API tokens ----------------------------------------------------------------------------


def test_a_token_secret_is_shown_once_and_never_on_the_list(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    answer = admin.submit(
        "/admin/tokens", "/admin/tokens", {"label": "till 3", "scope": ["stock:read"]}
    )
    found = _SECRET.search(answer.text)
    assert answer.status_code == 200 and found
    assert answer.headers["cache-control"] == "no-store"
    listed = admin.get("/admin/tokens")
    assert "till 3" in listed.text and found.group(1) not in listed.text


def test_a_revoked_token_gets_401_at_the_api(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    issued = admin.submit(
        "/admin/tokens", "/admin/tokens", {"label": "till 3", "scope": ["stock:read"]}
    )
    found = _SECRET.search(issued.text)
    assert found
    secret = found.group(1)
    with httpx.Client(base_url=served.url, headers=bearer(secret)) as till:
        assert till.get("/api/stock").status_code == 200
        (token_id,) = re.findall(r'action="/admin/tokens/([^/"]+)/revoke"', issued.text)
        revoked = admin.submit("/admin/tokens", f"/admin/tokens/{token_id}/revoke", {})
        assert revoked.status_code == 200
        assert till.get("/api/stock").status_code == 401


def test_a_token_scope_no_token_may_hold_is_refused_on_the_page(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    answer = admin.submit(
        "/admin/tokens", "/admin/tokens", {"label": "sneaky", "scope": ["users:write"]}
    )
    assert answer.status_code == 422 and 'data-testid="error"' in answer.text
    assert _SECRET.search(answer.text) is None


def test_a_control_character_in_a_token_label_is_refused_on_the_page(served: ServedHub) -> None:
    admin = served.user("li.admin", "admin")
    answer = admin.submit(
        "/admin/tokens", "/admin/tokens", {"label": "till\x003", "scope": ["stock:read"]}
    )
    assert answer.status_code == 422 and "控制字符" in answer.text


# --- the audit trail -------------------------------------------------------------------------


@pytest.fixture
def priced(served: ServedHub) -> Browser:
    """An operations user who has set a price in the console; audit:read is theirs too."""
    ops = served.user("ops.wang", "operations")
    saved = ops.submit(
        "/", "/catalog", {"sku": "COLA-330", "name": "可口可乐 330ml", "price": "3.5"}
    )
    assert 'data-testid="catalog-saved"' in saved.text
    return ops


def test_the_audit_page_finds_a_catalog_change_by_actor(priced: Browser) -> None:
    page = priced.get("/audit", actor="user:ops.wang", action="catalog_changed")
    assert page.status_code == 200
    assert page.text.count('data-action="catalog_changed"') == 1 and "COLA-330" in page.text
    nobody = priced.get("/audit", actor="user:nobody", action="catalog_changed")
    assert 'data-action="catalog_changed"' not in nobody.text


def test_the_audit_csv_is_an_excel_attachment_with_chinese_headers(priced: Browser) -> None:
    answer = priced.get("/audit.csv", actor="user:ops.wang", action="catalog_changed")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER and "操作人 actor" in rows[0]
    (row,) = rows[1:]
    assert (row[1], row[2], row[3]) == ("user:ops.wang", "catalog_changed", "COLA-330")


def test_the_audit_api_finds_a_catalog_change_by_actor(priced: Browser) -> None:
    answer = priced.client.get(
        "/api/audit", params={"actor": "user:ops.wang", "action": "catalog_changed"}
    )
    assert answer.status_code == 200
    (entry,) = answer.json()
    assert (entry["subject"], entry["location"], entry["detail"]) == (
        "COLA-330",
        "cloud",
        "name=可口可乐 330ml, price_fen=350",
    )


def test_a_login_is_in_the_audit_trail(priced: Browser) -> None:
    answer = priced.client.get("/api/audit", params={"action": "login", "actor": "user:ops.wang"})
    (entry,) = answer.json()
    assert (entry["subject"], entry["location"]) == ("ops.wang", "cloud")


def test_the_audit_days_include_today_in_the_hubs_timezone(
    served: ServedHub, priced: Browser
) -> None:
    today = datetime.now(ZoneInfo(served.hub.settings.timezone)).date().isoformat()
    found = priced.client.get(
        "/api/audit", params={"action": "catalog_changed", "from": today, "to": today}
    )
    assert len(found.json()) == 1
    before = priced.client.get(
        "/api/audit", params={"action": "catalog_changed", "to": "2020-01-01"}
    )
    assert before.json() == []


def test_the_audit_api_takes_any_calendar_day_as_a_bound(priced: Browser) -> None:
    widest = {"action": "catalog_changed", "from": "0001-01-01", "to": "9999-12-31"}
    assert len(priced.client.get("/api/audit", params=widest).json()) == 1


def test_an_unreadable_audit_date_is_said_on_the_page(priced: Browser) -> None:
    page = priced.get("/audit", **{"from": "2026-02-30"})
    assert page.status_code == 422 and "YYYY-MM-DD" in page.text


def test_a_finance_user_may_read_the_audit_but_not_change_staff(served: ServedHub) -> None:
    finance = served.user("chen.fin", "finance")
    assert finance.get("/audit").status_code == 200
    assert finance.get("/admin/staff").status_code == 403
