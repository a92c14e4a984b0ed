"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from edge.node import Node
from web_ui.pages import PagesDep

T = TypeVar("T")

WRITE_THREADS = 32


class Writers:
    """The threads the API's writes wait in.

    A write blocks: its transaction, its fsync, the group commit it shares with other
    tills' sales. It runs in one of these threads while the event loop goes on reading
    the next requests, so sales that arrive together meet in one commit. A plain
    executor rather than the worker threads FastAPI gives a sync endpoint: the same
    hand-off without anyio's per-call bookkeeping. A request whose client went away
    still finishes its write (as a sync endpoint's would): a till's retry replays it."""

    def __init__(self, threads: int = WRITE_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="api-write")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# async: a lookup needs no worker thread (FastAPI runs a sync dependency in one).
async def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def _writers(request: Request) -> Writers:
    writers: Writers = request.app.state.writers
    return writers


NodeDep = Annotated[Node, Depends(_node)]
WritersDep = Annotated[Writers, Depends(_writers)]

__all__ = ["NodeDep", "PagesDep", "Writers", "WritersDep"]
