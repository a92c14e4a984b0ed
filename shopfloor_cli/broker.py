"""A private MQTT broker process: Mosquitto when installed, amqtt otherwise.

Used by `shopfloor demo` and by the tests (the same runner, so the demo runs on what
the tests prove).

Each :class:`BrokerProcess` owns one working directory (config + log) and one port on
127.0.0.1. ``stop()`` makes the port refuse connections; ``start()`` brings the broker back
on the SAME port with the same config, which is what the broker-outage tests need. The
broker keeps nothing across a restart (``persistence false``): correctness must come from
the version vectors, never from the broker (DESIGN §4, §9).

Mosquitto is the broker the tests prove correctness against (MQTT 5, shared subscriptions,
``max_queued_messages``). amqtt is only a fallback so a machine without Mosquitto can still
run most tests: it speaks MQTT 3.1.1 only and ignores ``max_queued_messages``; check
``broker.kind`` when a test depends on either.

Set ``SHOPFLOOR_TEST_BROKER=amqtt`` to force the fallback, ``=mosquitto`` to fail instead of
falling back.

Security tests (Mosquitto only) make the listener TLS with ``tls=TlsListener(…)`` and add
what else they need, e.g. an ``acl_file`` line, with ``extra_config``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from shopfloor_cli.net import LOCALHOST, free_port, wait_for_port

BrokerKind = Literal["mosquitto", "amqtt"]

ENV_BROKER = "SHOPFLOOR_TEST_BROKER"
MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class BrokerFallbackWarning(UserWarning):
    """Mosquitto is not installed; the tests run against amqtt (MQTT 3.1.1 only)."""


def find_mosquitto() -> str | None:
    """Path of the mosquitto executable (PATH first, then the Debian location), or None."""
    on_path = shutil.which("mosquitto")
    if on_path:
        return on_path
    for candidate in MOSQUITTO_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@functools.cache
def detect_kind() -> BrokerKind:
    """Which broker this machine runs the tests against; warns once when falling back."""
    wanted = os.environ.get(ENV_BROKER, "").strip().lower()
    if wanted not in ("", "auto", "mosquitto", "amqtt"):
        raise ValueError(f"{ENV_BROKER}={wanted!r}: expected 'mosquitto', 'amqtt' or 'auto'")
    if wanted == "amqtt":
        return "amqtt"
    if find_mosquitto() is not None:
        return "mosquitto"
    if wanted == "mosquitto":
        raise RuntimeError(
            f"{ENV_BROKER}=mosquitto but no mosquitto executable was found; "
            "install it with `apt-get install -y mosquitto` (make test does this as root)"
        )
    warnings.warn(
        "mosquitto is not installed: MQTT tests run against amqtt, which speaks MQTT 3.1.1 "
        "only and has no max_queued_messages; install mosquitto for the real thing",
        BrokerFallbackWarning,
        stacklevel=2,
    )
    return "amqtt"


@functools.cache
def pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig TERM --`` when util-linux has it, else nothing.

    Linux then SIGTERMs the broker if the test process is killed before its teardown ran
    (CI timeout, SIGKILL), so no orphan keeps a port. The signal fires when the *thread*
    that started the child exits, so it is only used from the main thread (see start()).
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    try:
        subprocess.run(
            [setpriv, "--pdeathsig", "TERM", "--", "true"],
            check=True,
            capture_output=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return (setpriv, "--pdeathsig", "TERM", "--")


@dataclass(frozen=True)
class TlsListener:
    """Make the broker's listener TLS-only (Mosquitto), as the hub's node listener is.

    With ``use_identity_as_username`` the Common Name of the client certificate becomes the
    MQTT username (what ``%u`` means in an ACL ``pattern``), whatever username the client
    sends; anonymous clients are then refused. ``deploy/cloud/make-certs.sh`` makes the
    files (``tests.support.pki`` in the tests).
    """

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = True
    use_identity_as_username: bool = True

    def config_lines(self) -> list[str]:
        """Options of the listener; they must follow its ``listener`` line."""
        return [
            f"cafile {self.ca_file}",
            f"certfile {self.cert_file}",
            f"keyfile {self.key_file}",
            f"require_certificate {str(self.require_certificate).lower()}",
            f"use_identity_as_username {str(self.use_identity_as_username).lower()}",
        ]


_live: set[BrokerProcess] = set()


@atexit.register
def _stop_leftovers() -> None:
    for broker in list(_live):
        broker.stop(hard=True)


class BrokerProcess:
    """One broker process on ``host:port``, restartable on the same port.

    Attributes:
        host, port: where clients connect (plain TCP, anonymous; TLS when ``tls`` is set).
        kind: ``"mosquitto"`` or ``"amqtt"``.
        workdir: holds the generated config and the broker's log file.
        tls: the listener's TLS settings, or None for plain TCP.
        extra_config: lines appended to the generated Mosquitto config as they are.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        kind: BrokerKind | None = None,
        host: str = LOCALHOST,
        port: int | None = None,
        max_queued_messages: int = 1000,
        tls: TlsListener | None = None,
        extra_config: Sequence[str] = (),
    ) -> None:
        self.kind: BrokerKind = kind if kind is not None else detect_kind()
        if self.kind != "mosquitto" and (tls is not None or extra_config):
            raise ValueError("tls and extra_config need Mosquitto, not " + self.kind)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.max_queued_messages = max_queued_messages
        self.tls = tls
        self.extra_config = tuple(extra_config)
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.kind}.log"
        self.config_path = workdir / (
            "mosquitto.conf" if self.kind == "mosquitto" else "amqtt.yaml"
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<BrokerProcess {self.kind} {self.host}:{self.port} {state}>"

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.tls is not None else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs (for /proc readings), else None."""
        return self._proc.pid if self.is_running and self._proc is not None else None

    def _write_config(self) -> None:
        if self.kind == "mosquitto":
            user = pwd.getpwuid(os.geteuid()).pw_name  # as root, don't drop to "mosquitto"
            tls_lines = self.tls.config_lines() if self.tls is not None else []
            anonymous = self.tls is None or not self.tls.use_identity_as_username
            lines = [
                "# generated by shopfloor_cli/broker.py",
                f"listener {self.port} {self.host}",
                *tls_lines,
                f"allow_anonymous {str(anonymous).lower()}",
                "persistence false",
                f"max_queued_messages {self.max_queued_messages}",
                f"log_dest file {self.log_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "connection_messages true",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                f"user {user}",
                *self.extra_config,
            ]
        else:
            lines = [
                "# generated by shopfloor_cli/broker.py (amqtt: MQTT 3.1.1, no persistence)",
                "listeners:",
                "  default:",
                "    type: tcp",
                f"    bind: {self.host}:{self.port}",
                "plugins:",
                "  amqtt.plugins.authentication.AnonymousAuthPlugin:",
                "    allow_anonymous: true",
            ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            exe = find_mosquitto()
            if exe is None:
                raise RuntimeError("mosquitto disappeared from this machine")
            return [exe, "-c", str(self.config_path)]
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(self.config_path)]

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the broker (again) on the same port; return once the port accepts clients.

        A no-op when it is already running. Raises RuntimeError, with the end of the log,
        when the process exits or the port does not open in time (e.g. the port was taken
        by someone else while the broker was stopped).
        """
        if self.is_running:
            return
        # Mosquitto logs to log_path itself; its stderr (config errors) and amqtt's output
        # go to the same file, appended, so the whole history of restarts stays readable.
        on_main_thread = threading.current_thread() is threading.main_thread()
        prefix = pdeathsig_prefix() if on_main_thread else ()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [*prefix, *self._command()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        _live.add(self)
        try:
            wait_for_port(self.host, self.port, timeout, alive=lambda: self.is_running)
        except (TimeoutError, RuntimeError) as exc:
            self.stop(hard=True)
            raise RuntimeError(
                f"{self.kind} did not come up on {self.host}:{self.port}: {exc}\n"
                f"--- {self.log_path} (last lines) ---\n{self.log_tail()}"
            ) from exc

    def stop(self, *, hard: bool = False, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the broker; afterwards its port refuses connections. A no-op when stopped.

        ``hard=True`` sends SIGKILL (a crash) instead of SIGTERM (a clean shutdown). Either
        way clients see their TCP connection drop and the broker forgets every session.
        """
        proc, self._proc = self._proc, None
        _live.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def restart(self, *, hard: bool = False) -> None:
        self.stop(hard=hard)
        self.start()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_broker(
    workdir: Path,
    *,
    kind: BrokerKind | None = None,
    port: int | None = None,
    max_queued_messages: int = 1000,
    tls: TlsListener | None = None,
    extra_config: Sequence[str] = (),
) -> Iterator[BrokerProcess]:
    """A started broker for the duration of the ``with`` block (for custom configs)."""
    broker = BrokerProcess(
        workdir,
        kind=kind,
        port=port,
        max_queued_messages=max_queued_messages,
        tls=tls,
        extra_config=extra_config,
    )
    with broker:
        yield broker
