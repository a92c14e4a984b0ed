"""Hub settings. The database is PostgreSQL when SHOPFLOOR_HUB_DB names one, else a
SQLite file in the data directory (the embedded default)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sync_protocol.transport.mqtt import BrokerAddress


@dataclass(frozen=True)
class HubSettings:
    data_dir: Path
    db_url: str | None = None
    tenant: str = "demo"
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_protocol: Literal["5", "3.1.1"] = "5"
    broker_ca_file: str | None = None
    broker_cert_file: str | None = None
    broker_key_file: str | None = None
    shared_subscription: bool = True
    http_host: str = "0.0.0.0"
    http_port: int = 8000
    timezone: str = "Asia/Shanghai"
    worker_id: str = "1"

    @property
    def database_url(self) -> str:
        return (
            self.db_url
            or os.environ.get("SHOPFLOOR_HUB_DB")
            or f"sqlite:///{self.data_dir / 'hub.db'}"
        )

    @property
    def key_path(self) -> Path:
        return self.data_dir / "hub_key.pem"

    @property
    def broker(self) -> BrokerAddress:
        return BrokerAddress(
            self.broker_host,
            self.broker_port,
            self.broker_protocol,
            ca_file=self.broker_ca_file,
            cert_file=self.broker_cert_file,
            key_file=self.broker_key_file,
        )
