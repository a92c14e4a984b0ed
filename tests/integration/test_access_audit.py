"""The audit trail of access, end to end: a hub and a store node as real processes. At
the node a cashier logs in and out through POST /login and /logout, a supervisor types a
wrong PIN, and a till's API token receives stock; at the hub an HQ user types a wrong
password, logs in, and changes a price through the console's form, and a script's token
changes another over the API. After sync, the hub's trail (GET /api/audit, audit:read)
shows each of those actions exactly once, under the right actor and location; and
neither process logged a PIN, a password or a token.

The story runs once for the module; each test reads one action of it."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.cluster import CATALOG, Cluster, hub_holds, wait_until
from tests.support.access import (
    ADMIN,
    ADMIN_PASSWORD,
    CASHIER,
    SUPERVISOR,
    csrf_field_of,
    log_in_form,
    staff_known_at,
)
from tests.support.broker import BrokerProcess

WATER, COLA, NOODLES = list(CATALOG)
RECEIPT_REF = "PO-AUDIT-0001"
WRONG_PIN = "000111"
WRONG_PASSWORD = "not the password at all"
HTML = {"Accept": "text/html"}


@dataclass
class Story:
    cluster: Cluster
    hub_db: Path  # the hub's SQLite file (read beside the running hub)
    hub_token_actor: str
    node_token_actor: str
    trail: list[dict[str, Any]]

    def entries(self, action: str, actor: str) -> list[dict[str, Any]]:
        return [e for e in self.trail if e["action"] == action and e["actor"] == actor]


def token_actor(db_file: Path, secret: str) -> str:
    """`token:<id>` of the token `secret` is, read from a running app's database."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)) as db:
        (token_id,) = db.execute(
            "SELECT token_id FROM access_tokens WHERE token_hash = ?", (digest,)
        ).fetchone()
    return f"token:{token_id}"


def hub_ops(hub_db: Path, kind: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT origin, seq, actor, body FROM ops WHERE kind = ?", (kind,))
        return [{**dict(r), "body": json.loads(r["body"])} for r in rows]


def at_the_node(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.url("store-1"), timeout=30, headers=HTML) as till:
        assert log_in_form(till, staff_id=SUPERVISOR[0], pin=WRONG_PIN).status_code == 401
        assert log_in_form(till, staff_id=CASHIER[0], pin=CASHIER[3]).status_code == 303
        csrf = csrf_field_of(till.get("/").text)
        assert till.post("/logout", data={"csrf_token": csrf}).status_code == 303
    receipt = {"sku": COLA, "qty": 7, "ref": RECEIPT_REF, "actor": CASHIER[0]}
    cluster.post("store-1", "/api/stock/receive", receipt)


def at_the_hub(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.url("hub"), timeout=30, headers=HTML) as console:
        wrong = log_in_form(console, username=ADMIN, password=WRONG_PASSWORD)
        assert wrong.status_code == 401
        assert log_in_form(console, username=ADMIN, password=ADMIN_PASSWORD).status_code == 303
        csrf = csrf_field_of(console.get("/").text)
        saved = console.post("/catalog", data={"sku": WATER, "price": "2.11", "csrf_token": csrf})
        assert 'data-testid="catalog-saved"' in saved.text
    cluster.post("hub", "/api/catalog/items", {"sku": NOODLES, "fields": {"price_fen": 460}})


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    base = tmp_path_factory.mktemp("audit")
    broker = BrokerProcess(base / "broker")
    broker.start()
    hub_db = base / "hub.db"
    cluster = Cluster(base / "cluster", broker, f"sqlite:///{hub_db}", ["store-1"])
    try:
        cluster.start_all()
        ledger = cluster.base / "store-1" / "ledger.db"
        wait_until(lambda: staff_known_at(ledger, SUPERVISOR[0]), 30, "the staff at the store")
        at_the_node(cluster)
        at_the_hub(cluster)
        node_head = cluster.get("store-1", "/api/sync")["head"]
        wait_until(lambda: hub_holds(cluster, "store-1") >= node_head, 30, "the node's ops")
        yield Story(
            cluster,
            hub_db,
            hub_token_actor=token_actor(hub_db, cluster.tokens["hub"]),
            node_token_actor=token_actor(ledger, cluster.tokens["store-1"]),
            trail=cluster.get("hub", "/api/audit?limit=1000"),
        )
    finally:
        cluster.close()
        broker.stop()
        print(cluster.logs())


def only(entries: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(entries) == 1, entries
    return entries[0]


def test_a_staff_login_at_the_node_is_in_the_hubs_trail_once(story: Story) -> None:
    entry = only(story.entries("login", CASHIER[0]))
    assert (entry["subject"], entry["location"], entry["origin"]) == (
        CASHIER[0],
        "store-1",
        "store-1",
    )


def test_a_wrong_pin_at_the_node_is_in_the_hubs_trail_once(story: Story) -> None:
    entry = only(story.entries("pin_failed", SUPERVISOR[0]))
    assert (entry["subject"], entry["location"]) == (SUPERVISOR[0], "store-1")
    assert not story.entries("login", SUPERVISOR[0])


def test_a_staff_logout_at_the_node_is_in_the_hubs_trail_once(story: Story) -> None:
    entry = only(story.entries("logout", CASHIER[0]))
    assert entry["location"] == "store-1"


def test_an_hq_login_is_in_the_hubs_trail_once(story: Story) -> None:
    entry = only(story.entries("login", f"user:{ADMIN}"))
    assert (entry["subject"], entry["location"]) == (ADMIN, "cloud")


def test_a_wrong_hq_password_is_in_the_hubs_trail_once(story: Story) -> None:
    entry = only(story.entries("login_failed", f"user:{ADMIN}"))
    assert (entry["subject"], entry["location"]) == (ADMIN, "cloud")


def test_a_price_set_in_the_console_is_in_the_trail_once_under_the_users_name(
    story: Story,
) -> None:
    entry = only(story.entries("catalog_changed", f"user:{ADMIN}"))
    assert (entry["subject"], entry["location"]) == (WATER, "cloud")
    assert "price_fen=211" in entry["detail"]


def test_a_price_set_with_a_token_is_in_the_trail_once_under_the_tokens_name(
    story: Story,
) -> None:
    entry = only(story.entries("catalog_changed", story.hub_token_actor))
    assert (entry["subject"], entry["location"]) == (NOODLES, "cloud")
    assert "price_fen=460" in entry["detail"]


def test_a_stock_receipt_with_a_token_reaches_the_hub_once_under_the_tokens_name(
    story: Story,
) -> None:
    """A receipt is business, not an audit entry (domain.audit.trail): the hub holds it
    as the op the node wrote, once, named for the till's token."""
    receipts = [
        op for op in hub_ops(story.hub_db, "stock.moved") if op["body"].get("ref") == RECEIPT_REF
    ]
    op = only(receipts)
    assert (op["origin"], op["actor"]) == ("store-1", story.node_token_actor)
    assert (op["body"]["location"], op["body"]["qty"], op["body"]["reason"]) == (
        "store-1",
        7,
        "receive",
    )


def test_the_trail_names_the_storys_people_for_nothing_else(story: Story) -> None:
    people = {CASHIER[0], SUPERVISOR[0], f"user:{ADMIN}", story.hub_token_actor}
    seen = Counter((e["actor"], e["action"]) for e in story.trail if e["actor"] in people)
    assert seen == Counter(
        {
            (CASHIER[0], "login"): 1,
            (CASHIER[0], "logout"): 1,
            (SUPERVISOR[0], "pin_failed"): 1,
            (f"user:{ADMIN}", "login_failed"): 1,
            (f"user:{ADMIN}", "login"): 1,
            (f"user:{ADMIN}", "catalog_changed"): 1,
            (story.hub_token_actor, "catalog_changed"): 1,
        }
    )


def test_no_pin_password_or_token_reaches_the_processes_logs(story: Story) -> None:
    """ASVS V7: the story's PINs (right and wrong), passwords and API tokens are in no
    line the hub or the node logged (a PIN only as a number of its own: not inside a
    timestamp)."""
    pins = [CASHIER[3], WRONG_PIN]
    words = [ADMIN_PASSWORD, WRONG_PASSWORD, *story.cluster.tokens.values()]
    for proc in story.cluster.procs.values():
        log = proc.log.read_text(errors="replace")
        assert log, f"{proc.name} logged nothing: the check saw nothing"
        assert [p for p in pins if re.search(rf"(?<!\d){p}(?!\d)", log)] == [], proc.name
        assert [w for w in words if w in log] == [], proc.name
