"""A running hub: settings, key, store and ingest, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.ingest import HubIngest
from cloud.schema import HUB_REGISTRY
from cloud.settings import HubSettings
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import mark_archive


@dataclass
class Hub:
    settings: HubSettings
    key: NodeKey
    store: ReplicaStore
    ingest: HubIngest | None

    @classmethod
    def open(cls, settings: HubSettings, *, with_ingest: bool = True) -> Hub:
        key = NodeKey.load_or_create(settings.key_path)
        store = ReplicaStore(settings.database_url, origin=HUB, key=key, registry=HUB_REGISTRY)
        mark_archive(store)  # the hub keeps every op: nothing ever compacts it
        ingest = (
            HubIngest(
                store,
                settings.tenant,
                settings.broker,
                shared=settings.shared_subscription,
                worker_id=settings.worker_id,
            )
            if with_ingest
            else None
        )
        return cls(settings, key, store, ingest)

    def start(self) -> None:
        if self.ingest is not None:
            self.ingest.start()

    def close(self) -> None:
        if self.ingest is not None:
            self.ingest.stop()
        self.store.close()

    def ops_written(self) -> None:
        if self.ingest is not None:
            self.ingest.notify()
