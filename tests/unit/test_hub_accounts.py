"""HQ accounts at the hub, on SQLite and PostgreSQL: users log in by password with
back-off, sessions expire and change at every login, API tokens are shown once, stored
hashed, scoped and revocable."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cloud.accounts.passwords import WeakPassword
from cloud.accounts.tables import hub_users
from cloud.accounts.users import (
    LoginRefused,
    authenticate,
    change_password,
    count_admins,
    create_user,
    principal_of_user,
    set_user,
)
from cloud.schema import HUB_REGISTRY
from cloud.settings import HubSettings
from domain.access.sessions import IDLE_MS, MAX_MS, close_session, open_session, session_of
from domain.access.tables import access_sessions, access_tokens
from domain.access.tokens import issue_token, revoke_token, token_of
from domain.errors import BusinessRuleError, Conflict, NotFound
from shopfloor_cli.main import main
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore

T0 = 1_800_000_000_000
PASSWORD = "correct horse battery"
SCOPES = {"catalog:write", "stock:read", "audit:read"}


@pytest.fixture
def engine(hub_db_url: str) -> Iterator[Engine]:
    store = ReplicaStore(hub_db_url, origin="cloud", key=NodeKey.generate(), registry=HUB_REGISTRY)
    try:
        yield store.engine
    finally:
        store.close()


@pytest.fixture
def admin(engine: Engine) -> str:
    return create_user(engine, "Li.Admin", PASSWORD, role="admin", now_ms=T0).user_id


def test_the_password_is_stored_as_an_argon2id_hash_only(engine: Engine, admin: str) -> None:
    with engine.connect() as conn:
        stored = conn.execute(select(hub_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_right_password_logs_in_whatever_the_usernames_case(engine: Engine, admin: str) -> None:
    user = authenticate(engine, "li.admin", PASSWORD, now_ms=T0)
    assert (user.user_id, user.username, user.role) == (admin, "li.admin", "admin")
    assert count_admins(engine) == 1


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    engine: Engine, admin: str
) -> None:
    with pytest.raises(LoginRefused) as wrong:
        authenticate(engine, "li.admin", "not the password", now_ms=T0)
    with pytest.raises(LoginRefused) as unknown:
        authenticate(engine, "nobody", PASSWORD, now_ms=T0)
    assert wrong.value.message == unknown.value.message == "wrong username or password"


def test_the_fifth_wrong_password_makes_the_next_try_wait(engine: Engine, admin: str) -> None:
    for i in range(5):
        with pytest.raises(LoginRefused):
            authenticate(engine, "li.admin", "not the password", now_ms=T0 + i)
    with pytest.raises(LoginRefused, match="try again in 30 s"):
        authenticate(engine, "li.admin", PASSWORD, now_ms=T0 + 5)
    assert authenticate(engine, "li.admin", PASSWORD, now_ms=T0 + 4 + 30_000).user_id == admin


def test_usernames_are_unique_and_weak_passwords_refused(engine: Engine, admin: str) -> None:
    with pytest.raises(Conflict):
        create_user(engine, "li.admin", "another long one", role="viewer", now_ms=T0)
    with pytest.raises(WeakPassword):
        create_user(engine, "wang", "short", role="viewer", now_ms=T0)
    with pytest.raises(WeakPassword):
        create_user(engine, "wangfang01", "wangfang01", role="viewer", now_ms=T0)
    with pytest.raises(BusinessRuleError, match="unknown role"):
        create_user(engine, "wang", PASSWORD, role="owner", now_ms=T0)  # type: ignore[arg-type]


def test_every_login_opens_a_new_session_with_its_own_csrf_token(
    engine: Engine, admin: str
) -> None:
    user = authenticate(engine, "li.admin", PASSWORD, now_ms=T0)
    first, one = open_session(engine, user.principal, now_ms=T0)
    second, two = open_session(engine, user.principal, now_ms=T0)
    assert first != second and one.csrf_token != two.csrf_token
    with engine.connect() as conn:
        stored = set(conn.execute(select(access_sessions.c.token_hash)).scalars())
    assert first not in stored and second not in stored  # digests only
    found = session_of(engine, first, now_ms=T0 + 1)
    assert found is not None and found.principal == principal_of_user(admin)
    assert found.csrf_ok(one.csrf_token) and not found.csrf_ok(two.csrf_token)
    assert not found.csrf_ok(None)


def test_a_session_ends_at_logout_when_idle_and_at_its_expiry(engine: Engine, admin: str) -> None:
    user = authenticate(engine, "li.admin", PASSWORD, now_ms=T0)
    token, _ = open_session(engine, user.principal, now_ms=T0)
    close_session(engine, token)
    assert session_of(engine, token, now_ms=T0) is None
    idle, _ = open_session(engine, user.principal, now_ms=T0)
    assert session_of(engine, idle, now_ms=T0 + IDLE_MS) is None
    busy, _ = open_session(engine, user.principal, now_ms=T0)
    at = T0
    while at + IDLE_MS // 2 < T0 + MAX_MS:
        at += IDLE_MS // 2
        assert session_of(engine, busy, now_ms=at) is not None  # kept alive by use
    assert session_of(engine, busy, now_ms=T0 + MAX_MS) is None


def test_a_password_change_needs_the_old_one_and_ends_every_session(
    engine: Engine, admin: str
) -> None:
    user = authenticate(engine, "li.admin", PASSWORD, now_ms=T0)
    token, _ = open_session(engine, user.principal, now_ms=T0)
    with pytest.raises(LoginRefused):
        change_password(engine, admin, "wrong current", "a brand new phrase", now_ms=T0)
    change_password(engine, admin, PASSWORD, "a brand new phrase", now_ms=T0)
    assert session_of(engine, token, now_ms=T0 + 1) is None
    with pytest.raises(LoginRefused):
        authenticate(engine, "li.admin", PASSWORD, now_ms=T0 + 2)
    assert authenticate(engine, "li.admin", "a brand new phrase", now_ms=T0 + 3).user_id == admin


def test_a_deactivated_user_cannot_log_in_and_loses_their_sessions(
    engine: Engine, admin: str
) -> None:
    user = authenticate(engine, "li.admin", PASSWORD, now_ms=T0)
    token, _ = open_session(engine, user.principal, now_ms=T0)
    assert not set_user(engine, admin, active=False).active
    assert session_of(engine, token, now_ms=T0 + 1) is None
    with pytest.raises(LoginRefused):
        authenticate(engine, "li.admin", PASSWORD, now_ms=T0 + 2)
    with pytest.raises(NotFound):
        set_user(engine, "no-such-user", role="viewer")


def test_a_token_is_shown_once_stored_hashed_scoped_and_revocable(
    engine: Engine, admin: str
) -> None:
    secret, token = issue_token(
        engine, "till 3", {"catalog:write"}, known_scopes=SCOPES, created_by=admin, now_ms=T0
    )
    with engine.connect() as conn:
        assert secret not in set(conn.execute(select(access_tokens.c.token_hash)).scalars())
    found = token_of(engine, secret, now_ms=T0 + 1)
    assert found is not None and found.allows("catalog:write") and not found.allows("audit:read")
    assert found.actor == f"token:{token.token_id}"
    assert token_of(engine, secret + "x", now_ms=T0) is None
    assert token_of(engine, "Bearer nonsense", now_ms=T0) is None
    revoke_token(engine, token.token_id, now_ms=T0 + 2)
    assert token_of(engine, secret, now_ms=T0 + 3) is None
    with pytest.raises(NotFound):
        revoke_token(engine, token.token_id, now_ms=T0 + 4)


def test_a_token_needs_known_scopes_and_a_label(engine: Engine, admin: str) -> None:
    with pytest.raises(BusinessRuleError, match="scopes"):
        issue_token(engine, "x", {"everything"}, known_scopes=SCOPES, created_by=admin, now_ms=T0)
    with pytest.raises(BusinessRuleError, match="scopes"):
        issue_token(engine, "x", set(), known_scopes=SCOPES, created_by=admin, now_ms=T0)
    with pytest.raises(BusinessRuleError, match="label"):
        issue_token(engine, "  ", {"stock:read"}, known_scopes=SCOPES, created_by=admin, now_ms=T0)


def test_create_admin_makes_the_first_admin_and_then_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["cloud", "create-admin", "li.admin", "--data-dir", str(tmp_path), "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(argv) == 0
    assert "admin li.admin created" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another long phrase\n"))
    assert main([*argv[:2], "wang", *argv[3:]]) == 1
    assert "an admin exists already" in capsys.readouterr().err
    store = ReplicaStore(
        HubSettings(data_dir=tmp_path).database_url,
        origin="cloud",
        key=NodeKey.generate(),
        registry=HUB_REGISTRY,
    )
    try:
        assert authenticate(store.engine, "li.admin", PASSWORD, now_ms=T0).role == "admin"
    finally:
        store.close()


def test_create_admin_refuses_a_weak_password_in_both_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    argv = ["cloud", "create-admin", "li", "--data-dir", str(tmp_path), "--password-stdin"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "10 to 128 characters" in err and "密码须为 10 至 128 个字符" in err


def test_two_wrong_passwords_at_once_both_count_towards_the_back_off(
    engine: Engine, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fifth and sixth wrong passwords arrive together: each try reads the user
    before the other has counted its failure, and still both count (60 s, not 30 s)."""
    from cloud.accounts import users
    from cloud.accounts.passwords import password_matches as checks

    for i in range(4):
        with pytest.raises(LoginRefused):
            authenticate(engine, "li.admin", "not the password", now_ms=T0 + i)

    def while_checking_another_try_comes_in(password: str, password_hash: str) -> bool:
        monkeypatch.setattr(users, "password_matches", checks)
        with pytest.raises(LoginRefused):
            authenticate(engine, "li.admin", "also not the password", now_ms=T0 + 10)
        return checks(password, password_hash)

    monkeypatch.setattr(users, "password_matches", while_checking_another_try_comes_in)
    with pytest.raises(LoginRefused):
        authenticate(engine, "li.admin", "not the password", now_ms=T0 + 10)
    with engine.connect() as conn:
        assert conn.execute(select(hub_users.c.failed_logins)).scalar_one() == 6
    with pytest.raises(LoginRefused, match="try again in 60 s"):
        authenticate(engine, "li.admin", PASSWORD, now_ms=T0 + 11)
