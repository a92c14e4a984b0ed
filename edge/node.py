"""A running node: settings, identity, ledger and sync agent, built once by the app
factory and shared by requests (never at import time)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.registry import REGISTRY
from edge.backup import clear_restored, was_restored
from edge.settings import EdgeSettings
from edge.sync_agent import SyncAgent
from edge.upkeep import Upkeep
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import hold_if_needs_snapshot

log = logging.getLogger(__name__)


@dataclass
class Node:
    settings: EdgeSettings
    key: NodeKey
    ledger: ReplicaStore
    sync: SyncAgent | None
    # Compaction and the start from a snapshot (docs/compaction.md); with the sync only.
    upkeep: Upkeep | None = None

    @classmethod
    def open(cls, settings: EdgeSettings, *, with_sync: bool = True) -> Node:
        key = NodeKey.load_or_create(settings.key_path)
        ledger = ReplicaStore(
            settings.ledger_url, origin=settings.node_id, key=key, registry=REGISTRY
        )
        if settings.hub_public_key:
            ledger.enroll(HUB, settings.hub_public_key, label="hub")
        else:
            log.warning("no hub public key configured: ops from the hub will be rejected")
        # An upgrade found projections to rebuild on a compacted ledger: hold writes
        # until the hub's snapshot rebuilds them (docs/compaction.md).
        hold_if_needs_snapshot(ledger)
        if was_restored(settings):
            # Until the hub returns this node's ops past the backup, a new op would
            # reuse a sequence number the node already spent (DESIGN §4).
            ledger.local_writes_held = "restored from a backup; replaying own ops from the hub"
        sync = (
            SyncAgent(
                ledger,
                settings.tenant,
                settings.broker,
                on_reconciled=lambda: clear_restored(settings),
            )
            if with_sync
            else None
        )
        upkeep = Upkeep(ledger, settings) if with_sync else None
        return cls(settings, key, ledger, sync, upkeep)

    @property
    def location(self) -> str:
        return self.settings.node_id

    def start(self) -> None:
        if self.sync is not None:
            self.sync.start()
        if self.upkeep is not None:
            self.upkeep.start()

    def close(self) -> None:
        if self.upkeep is not None:
            self.upkeep.stop()
        if self.sync is not None:
            self.sync.stop()
        self.ledger.close()

    def ops_written(self) -> None:
        if self.sync is not None:
            self.sync.notify()
