"""Session fixtures for the REAL services the tests run against (STYLE §14).

- ``mqtt_broker``  (session)  a private Mosquitto (amqtt if Mosquitto is missing)
- ``private_broker`` (function) a broker of the test's own, free to stop and start
- ``postgres_url`` (session)  a throwaway PostgreSQL database, or None without a server
- ``hub_db_url``   (function) parametrised: a SQLite file and a fresh PostgreSQL database
- ``chromium_path`` (session) ``/usr/bin/chromium``, else the test skips
- ``browser``      (function) a headless Playwright Chromium on that executable

Helpers that are not fixtures live in ``tests.support`` (``free_port``, ``wait_for_port``,
``BrokerProcess``, ``throwaway_database``). Domain fixtures belong in the conftest files
of the test directories that use them, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import postgres
from tests.support.broker import BrokerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- MQTT ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """The session's shared broker on 127.0.0.1:<free port>, already accepting clients.

    Shared by every test: isolate yourself with a unique topic prefix, and do not stop it
    (use ``private_broker`` for outage tests). ``.kind`` tells Mosquitto from amqtt.
    """
    broker = BrokerProcess(tmp_path_factory.mktemp("mqtt_broker"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker of this test's own (own port), started; stop()/start() it freely.

    ``start()`` after ``stop()`` listens on the SAME port with an empty state. Stopped at
    teardown whatever state the test left it in.
    """
    broker = BrokerProcess(tmp_path_factory.mktemp("private_broker"))
    broker.start()
    yield broker
    broker.stop()


# --- Databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """SQLAlchemy URL of a throwaway database for the whole session, or None without PG.

    ``postgresql+psycopg://postgres@127.0.0.1:5432/sf_test_<hex>``; dropped WITH (FORCE)
    at session end. Tests that need PostgreSQL skip themselves when this is None.
    """
    if postgres.unavailable_reason() is not None:
        yield None
        return
    with postgres.throwaway_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of an EMPTY hub database; every test using it runs once per backend.

    ``sqlite``: ``sqlite:///{tmp_path}/hub.db`` (the file does not exist yet).
    ``postgresql``: a fresh ``sf_test_<hex>`` database made for this test alone and dropped
    WITH (FORCE) after it; skipped with the reason when no server is reachable.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.db"
        return
    reason = postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres.throwaway_database() as url:
        yield url


# --- Browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """``/usr/bin/chromium`` (Debian's package); tests that need a browser skip without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `apt-get install -y chromium` (make test does)")
    return str(CHROMIUM)


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Browser]:
    """A headless Chromium (Playwright, sync API) of this test's own, closed afterwards.

    Function-scoped on purpose: while Playwright's sync API is running it marks an asyncio
    loop as running in this thread, so a session-wide browser would make every later
    ``asyncio.run()`` in the session fail. A launch costs under a second.
    """
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
