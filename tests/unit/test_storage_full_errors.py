"""A full disk is recognised whatever said it (SQLite, the OS, PostgreSQL), and answers
507 with both messages; any other database error is not mistaken for it."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
import pytest
from sqlalchemy import exc as sa_exc

from sync_protocol.errors import ShopfloorError, StorageFull
from sync_protocol.store.dialect import is_storage_full
from web_ui.errors import error_body, status_of


def wrapped(orig: BaseException) -> sa_exc.OperationalError:
    """The driver's error as SQLAlchemy raises it."""
    return sa_exc.OperationalError("INSERT INTO ops …", {}, orig)


def sqlite_full() -> sqlite3.OperationalError:
    """The real thing: SQLite answering SQLITE_FULL (a database capped at its size)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA max_page_count=2")
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("SQLite took 100 kB in two pages")


@pytest.mark.parametrize(
    "error",
    [
        sqlite_full(),
        sqlite3.OperationalError("database or disk is full"),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left'),
    ],
    ids=["sqlite-full", "sqlite-message", "enospc", "edquot", "pg-53100"],
)
def test_a_full_disk_is_recognised_bare_and_as_sqlalchemy_raises_it(error: Exception) -> None:
    assert is_storage_full(error)
    assert is_storage_full(wrapped(error))
    try:
        raise RuntimeError("while writing") from error
    except RuntimeError as chained:
        assert is_storage_full(chained)


def test_the_real_sqlite_error_carries_its_code() -> None:
    error = sqlite_full()
    assert error.sqlite_errorname == "SQLITE_FULL"
    assert str(error) == "database or disk is full"


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        sqlite3.IntegrityError("UNIQUE constraint failed: ops.origin, ops.seq"),
        OSError(errno.EACCES, "Permission denied"),
        psycopg.errors.UniqueViolation("duplicate key value"),
        psycopg.errors.OutOfMemory("out of memory"),  # 53200: same class, not the disk
        ValueError("database or disk is full"),  # our words in another error are not it
    ],
)
def test_other_errors_are_not_a_full_disk(error: Exception) -> None:
    assert not is_storage_full(error)
    assert not is_storage_full(wrapped(error))


def test_storage_full_answers_507_in_both_languages() -> None:
    error = StorageFull("database or disk is full")
    assert isinstance(error, ShopfloorError)
    assert status_of(error) == 507
    body = error_body(error)
    assert body["error"] == "StorageFull"
    assert "not saved" in body["message"] and "Free disk space" in body["message"]
    assert body["message_zh"] == "存储空间已满：本次操作未保存，请清理磁盘或联系管理员。"
    assert "database or disk is full" not in body["message"]  # the driver's words: log only
