"""Ports: find a free one, wait until one accepts connections."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The kernel picks it, so parallel test runs do not collide; another process could still
    take it before the caller binds, which is as good as it gets without passing sockets.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when a TCP connection to ``host:port`` succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 10.0,
    *,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Block until ``host:port`` accepts TCP connections.

    ``alive`` is polled too: when it returns False (the server process died) waiting stops
    at once instead of running into the timeout.

    Raises:
        TimeoutError: the port did not open within ``timeout`` seconds.
        RuntimeError: ``alive()`` turned False first.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"the process meant to listen on {host}:{port} exited")
        if port_accepts(host, port):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} did not accept connections within {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def wait_for_port_closed(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` refuses TCP connections (raises TimeoutError otherwise)."""
    deadline = time.monotonic() + timeout
    while port_accepts(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} still accepts connections after {timeout}s")
        time.sleep(0.05)
