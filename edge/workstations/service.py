"""Workstations of one node: the router wired to the node's ledger and the device bus.

    service = WorkstationService(node)                       # config from node.settings
    service = WorkstationService(node, routing=RoutingConfig(DeviceBrokerAddress(h, p), …))
    service.start(); service.wait_ready(); …; service.stop()

Incidents (malformed payloads, unknown barcodes) are logged and written to the node's
incident table (``sync_incidents``, disposition ``device:<kind>``) next to the sync
incidents, so a manager finds every rejected input in one place.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from edge.node import Node
from edge.services.stock import receive_stock
from edge.workstations.bus import DeviceBus
from edge.workstations.catalog import lookup_code
from edge.workstations.config import RoutingConfig, routing_from_settings
from edge.workstations.router import DeviceRouter, Incident
from edge.workstations.state import CatalogHit

log = logging.getLogger(__name__)


class WorkstationService:
    def __init__(self, node: Node, routing: RoutingConfig | None = None) -> None:
        self.node = node
        self.routing = routing or routing_from_settings(node.settings)
        self.router = DeviceRouter(
            self.routing, self._lookup, receive=self._receive, record=self._record
        )
        self.bus = DeviceBus(
            self.routing.broker,
            self.router.handle,
            client_id=f"sf-edge-{node.location}-devices",
        )
        self.started = False

    # -- wiring to the node ------------------------------------------------------------

    def _lookup(self, code: str) -> CatalogHit | None:
        return lookup_code(self.node.ledger, code)

    def _receive(self, sku: str, qty: int, actor: str) -> int:
        receipt = receive_stock(self.node.ledger, self.node.location, sku, qty, actor)
        self.node.ops_written()
        return receipt.on_hand

    def _record(self, incident: Incident) -> None:
        self.node.ledger.record_incident(
            disposition=f"device:{incident.kind}",
            reason=incident.reason,
            peer=f"device:{incident.device}",
            payload=json.dumps(
                {"workstation": incident.workstation, "payload": incident.payload},
                ensure_ascii=False,
            ),
        )

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        self.bus.start()
        self.started = True

    def stop(self) -> None:
        if self.started:
            self.bus.stop()
            self.started = False

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once subscribed to the device bus (tests publish only after this)."""
        return self.bus.wait_ready(timeout)

    # -- reads for pages -----------------------------------------------------------------

    def workstations(self) -> list[dict[str, Any]]:
        with self.router.lock:
            return [self.router.view(ws.id) for ws in self.routing.workstations]

    def unassigned_devices(self) -> list[dict[str, Any]]:
        with self.router.lock:
            return [
                {"id": d.id, "state": d.state, "kind": d.kind, "model": d.model}
                for d in sorted(self.router.devices.values(), key=lambda d: d.id)
                if self.routing.workstation_of(d.id) is None
            ]
