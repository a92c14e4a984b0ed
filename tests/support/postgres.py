"""Throwaway PostgreSQL databases on the local server, for tests.

The server is reached through an admin URL (libpq form), by default
``postgresql://postgres@127.0.0.1:5432/postgres``; set ``SHOPFLOOR_TEST_PG_ADMIN_URL`` to
use another server. When it cannot be reached the PostgreSQL variants of the tests skip;
nothing else needs PostgreSQL.

Every database made here is called ``sf_test_<random hex>`` and is dropped ``WITH (FORCE)``,
so a test that leaves connections open does not block the drop.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL_ENV = "SHOPFLOOR_TEST_PG_ADMIN_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "sf_test_"
CONNECT_TIMEOUT = 2  # seconds; libpq's minimum


def admin_url() -> str:
    """The libpq URL of the maintenance database the throwaway databases are made from."""
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


@functools.cache
def unavailable_reason(url: str | None = None) -> str | None:
    """None when the server at ``url`` (default :func:`admin_url`) accepts us, else why not.

    Cached: the probe costs up to CONNECT_TIMEOUT seconds and runs once per session.
    """
    url = url or admin_url()
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {url}: {first_line}"
    return None


def sqlalchemy_url(database: str, url: str | None = None) -> str:
    """SQLAlchemy URL (psycopg 3 driver) for ``database`` on the admin URL's server."""
    parsed = make_url(url or admin_url()).set(drivername="postgresql+psycopg", database=database)
    return parsed.render_as_string(hide_password=False)


def create_database(url: str | None = None) -> str:
    """Create an empty ``sf_test_<hex>`` database and return its name."""
    name = DB_PREFIX + secrets.token_hex(6)
    with psycopg.connect(url or admin_url(), connect_timeout=CONNECT_TIMEOUT, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str, url: str | None = None) -> None:
    """Drop ``name`` even while clients are still connected to it; missing is fine."""
    if not name.startswith(DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database ({DB_PREFIX}*)")
    ident = sql.Identifier(name)
    with psycopg.connect(url or admin_url(), connect_timeout=CONNECT_TIMEOUT, autocommit=True) as c:
        if c.info.server_version >= 130000:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            return
        c.execute(  # PostgreSQL < 13 has no FORCE: end the sessions by hand first
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))


@contextlib.contextmanager
def throwaway_database(url: str | None = None) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a fresh database, dropped afterwards."""
    name = create_database(url)
    try:
        yield sqlalchemy_url(name, url)
    finally:
        drop_database(name, url)
