"""Secrets at rest and in the logs (OWASP ASVS V2/V3/V7 style): after logins right and
wrong, a PIN reset, a password change and a supervisor's unlock, no PIN or password is
in any log line of the apps (served in this process; what a real hub and node log is
read by tests/integration/test_access_audit.py), in any op body, or in any database;
the hashes kept are Argon2id; a session id or an API token secret is kept only as its
SHA-256.

The in-process hub and node serve the module: the hub writes its staff (and later a PIN
reset), the node applies exactly those ops, as sync would bring them."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cloud.accounts.users import create_user
from cloud.app import create_app as create_hub_app
from cloud.settings import HubSettings
from edge.app import create_app as create_node_app
from edge.settings import EdgeSettings
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.store import ReplicaStore
from tests.support.access import (
    ADMIN,
    ADMIN_PASSWORD,
    CASHIER,
    MANAGER,
    SUPERVISOR,
    add_staff,
    csrf_field_of,
    hub_token,
    log_in_form,
    node_token,
)
from tests.support.serving import serving

NEW_PIN = "604918"
WRONG_PIN = "739104"
NEW_PASSWORD = "a longer passphrase, 2027"
WRONG_PASSWORD = "Tr0ub4dor&3 (not it)"
PINS = (CASHIER[3], SUPERVISOR[3], MANAGER[3], NEW_PIN, WRONG_PIN)
PASSWORDS = (ADMIN_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD)
HTML = {"Accept": "text/html"}


def secrets_in(text: str) -> list[str]:
    """The PINs and passwords of this module that `text` holds. A PIN counts only as a
    number of its own: 482915 inside a timestamp is not a PIN."""
    found = [pin for pin in PINS if re.search(rf"(?<!\d){pin}(?!\d)", text)]
    return found + [p for p in PASSWORDS if p.casefold() in text.casefold()]


@dataclass
class Served:
    hub_app: FastAPI
    hub_url: str
    node_app: FastAPI
    node_url: str
    base: Path

    @property
    def hub(self) -> ReplicaStore:
        store: ReplicaStore = self.hub_app.state.hub.store
        return store

    @property
    def node(self) -> ReplicaStore:
        ledger: ReplicaStore = self.node_app.state.node.ledger
        return ledger

    def sync_staff(self) -> None:
        """The hub's ops the node lacks, applied as sync would."""
        held = self.node.head(HUB)
        if self.hub.head(HUB) > held:
            self.node.apply(self.hub.ops_range(HUB, held + 1, self.hub.head(HUB)))

    def hub_browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.hub_url, timeout=30, headers=HTML)

    def till(self) -> httpx.Client:
        return httpx.Client(base_url=self.node_url, timeout=30, headers=HTML)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("asvs")
    hub_app = create_hub_app(
        HubSettings(data_dir=base / "hub", db=f"sqlite:///{base / 'hub.db'}"), with_ingest=False
    )
    hub = hub_app.state.hub
    create_user(hub.store.engine, ADMIN, ADMIN_PASSWORD, role="admin", now_ms=system_ms())
    add_staff(hub.store, CASHIER, SUPERVISOR, MANAGER)
    settings = EdgeSettings(
        data_dir=base / "store-1", node_id="store-1", hub_public_key=hub.key.public_b64
    )
    node_app = create_node_app(settings, with_sync=False)
    with serving(hub_app) as hub_url, serving(node_app) as node_url:
        served = Served(hub_app, hub_url, node_app, node_url, base)
        served.sync_staff()
        yield served


def at_the_node(served: Served, staff_id: str, pin: str) -> None:
    """`staff_id` types a PIN wrong (a colleague's, then a made-up one), then `pin`
    (theirs), logs out, and a supervisor unlocks them."""
    with served.till() as till:
        for wrong in (SUPERVISOR[3], WRONG_PIN):
            assert log_in_form(till, staff_id=staff_id, pin=wrong).status_code == 401
        assert log_in_form(till, staff_id=staff_id, pin=pin).status_code == 303
        till.post("/logout", data={"csrf_token": csrf_field_of(till.get("/").text)})
        form = csrf_field_of(till.get("/login/unlock").text)
        unlock = {
            "staff_id": staff_id,
            "supervisor_id": SUPERVISOR[0],
            "supervisor_pin": SUPERVISOR[3],
            "csrf_token": form,
        }
        assert 'data-testid="unlock-done"' in till.post("/login/unlock", data=unlock).text


def at_the_hub(served: Served) -> None:
    """A wrong password, the right one, a password change and back, a PIN reset."""
    with served.hub_browser() as console:
        assert log_in_form(console, username=ADMIN, password=WRONG_PASSWORD).status_code == 401
        assert log_in_form(console, username=ADMIN, password=ADMIN_PASSWORD).status_code == 303
        for current, new in ((ADMIN_PASSWORD, NEW_PASSWORD), (NEW_PASSWORD, ADMIN_PASSWORD)):
            change = {"current": current, "new": new, "confirm": new}
            change["csrf_token"] = csrf_field_of(console.get("/account/password").text)
            assert console.post("/account/password", data=change).status_code == 303
        csrf = csrf_field_of(console.get("/admin/staff").text)
        reset = console.post(
            f"/admin/staff/{CASHIER[0]}/pin", data={"pin": NEW_PIN, "csrf_token": csrf}
        )
        assert reset.status_code == 200, reset.text


@pytest.fixture(scope="module")
def story(served: Served) -> Served:
    """The module's logins, done once (the log test does its own, under caplog)."""
    at_the_node(served, CASHIER[0], CASHIER[3])
    at_the_hub(served)
    served.sync_staff()
    at_the_node(served, CASHIER[0], NEW_PIN)
    return served


def all_ops(store: ReplicaStore) -> list[Op]:
    with store.read() as conn:
        origins = [r[0] for r in conn.exec_driver_sql("SELECT origin FROM heads WHERE seq > 0")]
    return [op for origin in origins for op in store.ops_range(origin, 1, store.head(origin))]


def dump(db_file: Path) -> str:
    """Every row of a SQLite database, as SQL text."""
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)) as db:
        return "\n".join(db.iterdump())


def hub_db(served: Served) -> Path:
    return served.base / "hub.db"


def node_db(served: Served) -> Path:
    return served.base / "store-1" / "ledger.db"


# --- logs ------------------------------------------------------------------------------


def test_no_pin_or_password_reaches_the_log_of_an_app_in_this_process(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # each SQL statement's values
    at_the_node(served, MANAGER[0], MANAGER[3])
    with served.hub_browser() as console:
        assert log_in_form(console, username=ADMIN, password=WRONG_PASSWORD).status_code == 401
        assert log_in_form(console, username=ADMIN, password=ADMIN_PASSWORD).status_code == 303
    assert any(r.name.startswith("sqlalchemy") for r in caplog.records), "no SQL logged"
    assert secrets_in(caplog.text) == []


def test_a_refused_login_never_echoes_the_pin_or_password(served: Served) -> None:
    with served.till() as till:
        wrong = log_in_form(till, staff_id=CASHIER[0], pin=WRONG_PIN)
        too_long = log_in_form(till, staff_id=CASHIER[0], pin=WRONG_PIN + "0123456")
    with served.hub_browser() as console:
        bad = log_in_form(console, username=ADMIN, password=WRONG_PASSWORD)
    assert (wrong.status_code, too_long.status_code, bad.status_code) == (401, 422, 401)
    assert secrets_in(wrong.text + too_long.text + bad.text) == []


# --- ops and databases -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "kinds"),
    [
        ("hub", {"staff.member_set", "access.user_login", "access.user_changed"}),
        ("node", {"staff.member_set", "staff.pin_failed", "staff.pin_accepted", "staff.unlocked"}),
    ],
)
def test_no_pin_or_password_is_in_any_op_body(story: Served, where: str, kinds: set[str]) -> None:
    ops = all_ops(story.hub if where == "hub" else story.node)
    assert kinds <= {op.kind for op in ops}  # the story's tries are there to look at
    leaks = {
        (op.origin, op.seq, op.kind): found
        for op in ops
        if (found := secrets_in(json.dumps(op.body, ensure_ascii=False) + op.actor))
    }
    assert leaks == {}


def test_no_pin_or_password_is_kept_in_any_database(story: Served) -> None:
    assert secrets_in(dump(hub_db(story))) == []
    assert secrets_in(dump(node_db(story))) == []


@pytest.mark.parametrize("where", ["hub", "node"])
def test_the_pin_hashes_kept_are_argon2id(story: Served, where: str) -> None:
    db_file = hub_db(story) if where == "hub" else node_db(story)
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute("SELECT staff_id, value FROM staff_fields WHERE field = 'pin_hash'")
        hashes = {staff_id: json.loads(value) for staff_id, value in rows}
    assert set(hashes) == {CASHIER[0], SUPERVISOR[0], MANAGER[0]}
    assert {sid: h[:10] for sid, h in hashes.items()} == {sid: "$argon2id$" for sid in hashes}


def test_the_pin_hashes_sent_to_nodes_are_argon2id(story: Served) -> None:
    sent = [
        op.body["fields"]["pin_hash"]
        for op in all_ops(story.node)
        if op.kind == "staff.member_set" and "pin_hash" in op.body["fields"]
    ]
    assert len(sent) == 4  # three accounts and one reset
    assert all(h.startswith("$argon2id$") for h in sent)


def test_the_hq_password_hashes_kept_are_argon2id(story: Served) -> None:
    with closing(sqlite3.connect(f"file:{hub_db(story)}?mode=ro", uri=True)) as db:
        hashes = [h for (h,) in db.execute("SELECT password_hash FROM hub_users")]
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)


@pytest.mark.parametrize("where", ["hub", "node"])
def test_a_session_id_is_kept_only_as_its_sha256(served: Served, where: str) -> None:
    if where == "hub":
        client, cookie, db_file = served.hub_browser(), "sf_session_hub", hub_db(served)
        login = {"username": ADMIN, "password": ADMIN_PASSWORD}
    else:
        client, cookie, db_file = served.till(), "sf_session_store-1", node_db(served)
        login = {"staff_id": MANAGER[0], "pin": MANAGER[3]}
    with client:
        assert log_in_form(client, **login).status_code == 303
        session = client.cookies[cookie]
    digest = hashlib.sha256(session.encode()).hexdigest()
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as db:
        kept = db.execute("SELECT 1 FROM access_sessions WHERE token_hash = ?", (digest,))
        assert kept.fetchone() is not None
    assert session not in dump(db_file)


@pytest.mark.parametrize("where", ["hub", "node"])
def test_an_api_token_secret_is_kept_only_as_its_sha256(served: Served, where: str) -> None:
    if where == "hub":
        secret, db_file = hub_token(served.hub), hub_db(served)
    else:
        secret, db_file = node_token(served.node), node_db(served)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as db:
        kept = db.execute("SELECT 1 FROM access_tokens WHERE token_hash = ?", (digest,))
        assert kept.fetchone() is not None
    assert secret not in dump(db_file)
    assert secret.removeprefix("sft_") not in dump(db_file)


# --- a secret typed into the name field ------------------------------------------------


def test_a_pin_typed_into_the_staff_id_field_is_not_recorded(served: Served) -> None:
    pin = "815263"  # not one of PINS: the other tests' scans stay about their own story
    head = served.node.head("store-1")
    with served.till() as till:
        assert log_in_form(till, staff_id=pin, pin=pin).status_code == 401
    written = served.node.ops_range("store-1", head + 1, served.node.head("store-1"))
    assert written  # the try is recorded (back-off counts it)…
    assert all(pin not in json.dumps(op.body) + op.actor for op in written)  # …not the PIN


def test_a_password_typed_into_the_username_field_is_not_recorded(served: Served) -> None:
    password = "Plum.Tree-2049@home"
    head = served.hub.head(HUB)
    with served.hub_browser() as console:
        assert log_in_form(console, username=password, password=password).status_code == 401
    written = served.hub.ops_range(HUB, head + 1, served.hub.head(HUB))
    assert written
    assert all(password.casefold() not in json.dumps(op.body).casefold() for op in written)
