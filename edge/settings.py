"""A node's settings and the files in its data directory.

<data_dir>/node.json      settings below (written by `shopfloor edge init`)
<data_dir>/node_key.pem   the node's Ed25519 key, made on first start and kept
<data_dir>/ledger.db      the SQLite ledger (WAL, synchronous=FULL)

Each setting is one field of `EdgeSettings`; its value is, highest first, the command-line
flag (generated from the field), the environment variable ``SHOPFLOOR_EDGE_<NAME>``, the
key in node.json, else the default (docs/configuration.md). The node id is the node's
identity (its key and ledger belong to it): set by `shopfloor edge init`, read from the
flag of that command or node.json only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sync_protocol.errors import ConfigurationError
from sync_protocol.files import write_atomically
from sync_protocol.settings import (
    ENV,
    FLAG,
    TimeZoneName,
    UplinkBroker,
    env_of,
    refuse,
    settings_error,
    where_from,
)

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
# The hub's op origin and its broker identity: a node with either name would get its rights.
RESERVED_IDS = frozenset({"cloud", "hub"})
NodeKind = Literal["store", "warehouse"]
NODE_FILE = "node.json"
ENV_PREFIX = "SHOPFLOOR_EDGE_"


def read_node_file(path: Path) -> dict[str, Any]:
    """The settings in node.json, {} if there is none; a broken file is a ConfigurationError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            message_zh=f"{path} 不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: expected a JSON object of settings",
            message_zh=f"{path} 应为设置的 JSON 对象",
        )
    if "data_dir" in data:
        raise ConfigurationError(
            f"{path}: data_dir is not a file setting (the file is in the data directory)",
            message_zh=f"{path} 中不能设置 data_dir",
        )
    return data


class _NodeFile(PydanticBaseSettingsSource):
    """node.json of the data directory, under the flags and the environment."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        data_dir = self.current_state.get("data_dir")
        if data_dir is None:
            return {}
        data = read_node_file(Path(data_dir) / NODE_FILE)
        # A higher layer replaces a value whole (no merging of `extra` across layers).
        return {key: value for key, value in data.items() if key not in self.current_state}


class _Environment(PydanticBaseSettingsSource):
    """SHOPFLOOR_EDGE_*, without the settings declared {"env": False}."""

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.env.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        model = self.settings_cls
        return {k: v for k, v in self.env().items() if k in model.model_fields and env_of(model, k)}


class EdgeSettings(UplinkBroker, BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(
        description="the node's directory: node.json, its key, its ledger",
        json_schema_extra={ENV: False},
    )
    node_id: str = Field(
        description="the node's id: lowercase letters, digits and '-' (fixed at init)",
        json_schema_extra={ENV: False},
    )
    label: str = Field(default="", description="its name for people, e.g. 上海徐汇店")
    kind: NodeKind = Field(default="store", description="a store or a warehouse")
    hub_public_key: str = Field(
        default="",
        description="the hub's public key (printed by `shopfloor cloud enroll-node`)",
        json_schema_extra={FLAG: "--hub-key"},
    )
    http_host: str = Field(default="0.0.0.0", description="address of the web UI and API")
    http_port: int = Field(default=8001, ge=1, le=65535, description="port of the web UI and API")
    timezone: TimeZoneName = Field(
        default="Asia/Shanghai", description="time zone of the times shown"
    )
    idle_lock_minutes: float = Field(
        default=10.0,
        ge=1,
        le=720,
        description="a till or handheld left alone this long locks: its staff log in again",
    )
    # Compaction and snapshots (docs/compaction.md).
    hub_url: str = Field(
        default="",
        max_length=2000,
        pattern=r"^(https?://\S+)?$",
        description="the hub's HTTP address, e.g. https://hq.example.com; a new or very "
        "stale node starts from its signed snapshot (empty: replay every op instead)",
    )
    retain_days: float = Field(
        default=14.0,
        ge=0,
        le=3650,
        description="days an op stays in the ledger after the hub acknowledged it",
    )
    retain_max_ops: int = Field(
        default=250_000,
        ge=1000,
        description="ops kept at most (acknowledged ones go first, oldest first, even if "
        "younger than retain_days); the hub's unacknowledged ops are never deleted",
    )
    compact_every_min: int = Field(
        default=60, ge=1, le=10_080, description="minutes between compactions of the ledger"
    )
    snapshot_behind_ops: int = Field(
        default=50_000,
        ge=1,
        description="a node this many of the hub's ops behind starts over from a snapshot",
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="workstations and the device bus (edge/workstations/config.py)",
        json_schema_extra={FLAG: None, ENV: False},
    )

    if not TYPE_CHECKING:  # (hidden from mypy, which then checks keywords against the fields)

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                data_dir = values.get("data_dir")
                file = Path(data_dir) / NODE_FILE if data_dir is not None else None
                raise settings_error(exc, where_from(type(self), values, file)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls, env_settings), _NodeFile(settings_cls)

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise refuse(f"{value!r} is reserved for the hub", f"节点编号 {value} 为总部保留")
        if not NODE_ID.match(value):
            raise refuse(
                f"expected lowercase letters, digits and '-' (at most 48), got {value!r}",
                f"节点编号只能包含小写字母、数字和“-”，实际为 {value!r}",
            )
        return value

    @property
    def config_path(self) -> Path:
        return self.data_dir / NODE_FILE

    @property
    def key_path(self) -> Path:
        return self.data_dir / "node_key.pem"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.db"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.ledger_path}"

    def save(self) -> None:
        """Write node.json: every setting but the data directory it is in."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = self.model_dump(mode="json", exclude={"data_dir"})
        uplink = UplinkBroker.model_fields
        data = {key: data[key] for key in sorted(data, key=lambda key: key in uplink)}
        text = json.dumps(data, ensure_ascii=False, indent=2)
        write_atomically(self.config_path, text.encode("utf-8"))

    @classmethod
    def load(cls, data_dir: Path, **overrides: Any) -> EdgeSettings:
        """The node in `data_dir` (node.json must exist), under SHOPFLOOR_EDGE_* and
        `overrides` (the command-line flags; None means not given)."""
        if not (data_dir / NODE_FILE).exists():
            raise ConfigurationError(
                f"{data_dir / NODE_FILE} not found: run `shopfloor edge init` first",
                message_zh="节点尚未初始化，请先运行 shopfloor edge init",
            )
        given = {key: value for key, value in overrides.items() if value is not None}
        return cls(data_dir=data_dir, **given)
