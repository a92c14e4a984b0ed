"""A node's settings and the files in its data directory.

<data_dir>/node.json      settings below (written by `shopfloor edge init`)
<data_dir>/node_key.pem   the node's Ed25519 key, made on first start and kept
<data_dir>/ledger.db      the SQLite ledger (WAL, synchronous=FULL)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from sync_protocol.errors import ConfigurationError
from sync_protocol.transport.mqtt import BrokerAddress

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
# The hub's op origin and its broker identity: a node with either name would get its rights.
RESERVED_IDS = frozenset({"cloud", "hub"})
NodeKind = Literal["store", "warehouse"]


@dataclass(frozen=True)
class EdgeSettings:
    data_dir: Path
    node_id: str
    label: str = ""
    kind: NodeKind = "store"
    tenant: str = "demo"
    hub_public_key: str = ""
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_protocol: Literal["5", "3.1.1"] = "5"
    # TLS with a client certificate per node (DESIGN §7); plain TCP when unset.
    broker_ca_file: str | None = None
    broker_cert_file: str | None = None
    broker_key_file: str | None = None
    http_host: str = "0.0.0.0"
    http_port: int = 8001
    timezone: str = "Asia/Shanghai"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.node_id in RESERVED_IDS:
            raise ConfigurationError(
                f"node id {self.node_id!r} is reserved for the hub",
                message_zh=f"节点编号 {self.node_id} 为总部保留",
            )
        if not NODE_ID.match(self.node_id):
            raise ConfigurationError(
                f"node id {self.node_id!r} must be lowercase letters, digits and '-'",
                message_zh="节点编号只能包含小写字母、数字和“-”",
            )

    @property
    def config_path(self) -> Path:
        return self.data_dir / "node.json"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "node_key.pem"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.db"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.ledger_path}"

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

    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "data_dir"}
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(self.config_path)

    @classmethod
    def load(cls, data_dir: Path, **overrides: Any) -> EdgeSettings:
        path = data_dir / "node.json"
        if not path.exists():
            raise ConfigurationError(
                f"{path} not found: run `shopfloor edge init` first",
                message_zh="节点尚未初始化，请先运行 shopfloor edge init",
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        settings = cls(data_dir=data_dir, **{k: v for k, v in data.items() if k in known})
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
