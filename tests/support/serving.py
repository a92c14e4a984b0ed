"""Serve a FastAPI app for real (uvicorn on a free port, lifespan included) in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from shopfloor_cli.net import free_port


@contextmanager
def serving(app: FastAPI, *, start_timeout: float = 20.0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yield its base URL; stop it afterwards."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started and thread.is_alive():
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
