"""Hub settings. The database is PostgreSQL when SHOPFLOOR_HUB_DB (or --db) names one, else
a SQLite file in the data directory (the embedded default).

Each setting is one field of `HubSettings`; its value is, highest first, the command-line
flag (generated from the field), the environment variable ``SHOPFLOOR_HUB_<NAME>``, else
the default. The hub has no settings file: it is meant to run stateless (compose, systemd
``EnvironmentFile``), its state in the database and its key in the data directory
(docs/configuration.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync_protocol.settings import TimeZoneName, UplinkBroker, settings_error, where_from

ENV_PREFIX = "SHOPFLOOR_HUB_"


class HubSettings(UplinkBroker, BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(
        description="the hub's directory: its key, and hub.db when there is no --db"
    )
    db: str | None = Field(
        default=None,
        description="database URL, e.g. postgresql+psycopg://user@db/shopfloor "
        "(default: SQLite hub.db in the data directory)",
    )
    shared_subscription: bool = Field(
        default=True, description="hub workers share the ingest (an MQTT 5 shared subscription)"
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="address of the console and API (loopback unless told otherwise: put a "
        "TLS proxy in front to serve HQ)",
    )
    http_port: int = Field(default=8000, ge=1, le=65535, description="port of the console and API")
    timezone: TimeZoneName = Field(
        default="Asia/Shanghai", description="time zone of the times shown"
    )
    worker_id: str = Field(
        default="1",
        max_length=64,
        pattern=r"^[^/+#\s]+$",
        description="this worker's id among the hub's workers, unique to each process "
        "(it names the worker's session leases and its MQTT topics)",
    )

    if not TYPE_CHECKING:  # (hidden from mypy, which then checks keywords against the fields)

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise settings_error(exc, where_from(type(self), values)) from None

    @property
    def database_url(self) -> str:
        return self.db or f"sqlite:///{self.data_dir / 'hub.db'}"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "hub_key.pem"
