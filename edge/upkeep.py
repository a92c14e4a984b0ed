"""The node's ledger upkeep: one background thread that compacts the ledger every
`compact_every_min` minutes and, while the node is new or very stale, tries to start it
over from the hub's snapshot (edge/bootstrap.py).

Cheap when there is nothing to do: a compaction with nothing to delete is a few small
reads; the snapshot check reads the heads and the hub's saved vector every
`CHECK_EVERY_S` seconds, and a failed attempt backs off up to `MAX_BACKOFF_S`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from edge.bootstrap import reason_to_start_over, start_over
from edge.settings import EdgeSettings
from sync_protocol.errors import ShopfloorError, SnapshotRejected
from sync_protocol.origins import HUB
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import CompactionReport, Retention, compact

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0
MAX_BACKOFF_S = 600.0
FIRST_COMPACTION_AFTER_S = 60.0


def retention_of(settings: EdgeSettings) -> Retention:
    return Retention(keep_days=settings.retain_days, max_ops=settings.retain_max_ops)


def compact_ledger(ledger: ReplicaStore, settings: EdgeSettings) -> CompactionReport:
    """Compact the node's ledger below what the hub acknowledged, within its retention."""
    return compact(ledger, HUB, retention_of(settings))


class Upkeep:
    def __init__(
        self,
        ledger: ReplicaStore,
        settings: EdgeSettings,
        *,
        on_started_over: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self._on_started_over = on_started_over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Without the hub's address the node replays every op: nothing to try.
        self._snapshot_given_up = not settings.hub_url

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ledger-upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        now = time.monotonic()
        next_check = now
        next_compaction = now + FIRST_COMPACTION_AFTER_S
        backoff = CHECK_EVERY_S
        while not self._stop.is_set():
            now = time.monotonic()
            if not self._snapshot_given_up and now >= next_check:
                ok = self._maybe_start_over()
                backoff = CHECK_EVERY_S if ok else min(2 * backoff, MAX_BACKOFF_S)
                next_check = now + backoff
            if now >= next_compaction:
                self._compact()
                next_compaction = now + self.settings.compact_every_min * 60
            wait = next_compaction if self._snapshot_given_up else min(next_compaction, next_check)
            self._stop.wait(max(0.1, wait - time.monotonic()))

    def _maybe_start_over(self) -> bool:
        """True unless an attempt failed (then the caller backs off)."""
        try:
            why = reason_to_start_over(self.ledger, self.settings.snapshot_behind_ops)
            if why is None:
                return True
            log.warning("this node is %s: starting over from the hub's snapshot", why)
            start_over(self.ledger, self.settings)
        except SnapshotRejected:
            # Recorded as an incident; it may pass later (once the hub holds the node's
            # ops), so tried again, at the slowest pace.
            return False
        except ShopfloorError as exc:
            log.warning("no snapshot yet (%s); retrying later", exc.message)
            return False
        except Exception:
            log.exception("snapshot attempt failed; retrying later")
            return False
        if self._on_started_over is not None:
            self._on_started_over()
        return True

    def _compact(self) -> None:
        try:
            compact_ledger(self.ledger, self.settings)
        except Exception:
            # A failed compaction loses nothing (each batch is whole or not at all).
            log.exception("ledger compaction failed; trying again at the next interval")
