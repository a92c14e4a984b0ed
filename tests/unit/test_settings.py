"""Node and hub settings: one declaration read from flags, SHOPFLOOR_* and node.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cloud.cli import register as register_cloud
from cloud.settings import HubSettings
from edge.cli import register as register_edge
from edge.settings import EdgeSettings
from shopfloor_cli.main import main
from sync_protocol.errors import ConfigurationError
from sync_protocol.settings import add_flags, flag_of


def provisioned(data_dir: Path, **settings: Any) -> Path:
    """A node.json as `shopfloor edge init` writes it, with `settings` changed."""
    EdgeSettings(data_dir=data_dir, node_id="store-1").save()
    path = data_dir / "node.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **settings}), encoding="utf-8")
    return path


def parse(register: Any, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(list(argv))


# --- precedence: flag > environment > node.json > default ---------------------------------


def test_node_json_overrides_the_default(tmp_path: Path) -> None:
    provisioned(tmp_path, http_port=8101)
    assert EdgeSettings.load(tmp_path).http_port == 8101


def test_the_environment_overrides_node_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provisioned(tmp_path, broker_host="mqtt.local")
    monkeypatch.setenv("SHOPFLOOR_EDGE_BROKER_HOST", "mqtt.example")
    assert EdgeSettings.load(tmp_path).broker.host == "mqtt.example"


def test_a_flag_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provisioned(tmp_path)
    monkeypatch.setenv("SHOPFLOOR_EDGE_HTTP_PORT", "8102")
    args = parse(register_edge, "edge", "run", "--data-dir", str(tmp_path), "--http-port", "8103")
    assert EdgeSettings.load(args.data_dir, http_port=args.http_port).http_port == 8103


def test_a_flag_not_given_leaves_the_setting_to_the_file(tmp_path: Path) -> None:
    provisioned(tmp_path, http_port=8104)
    args = parse(register_edge, "edge", "run", "--data-dir", str(tmp_path))
    assert EdgeSettings.load(args.data_dir, http_port=args.http_port).http_port == 8104


def test_the_node_id_is_not_taken_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provisioned(tmp_path)
    monkeypatch.setenv("SHOPFLOOR_EDGE_NODE_ID", "store-2")
    assert EdgeSettings.load(tmp_path).node_id == "store-1"


def test_settings_saved_to_node_json_load_back_unchanged(tmp_path: Path) -> None:
    saved = EdgeSettings(
        data_dir=tmp_path, node_id="wh-1", kind="warehouse", label="嘉定仓", extra={"a": [1]}
    )
    saved.save()
    assert EdgeSettings.load(tmp_path) == saved


def test_shopfloor_hub_db_names_the_hub_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_HUB_DB", "postgresql+psycopg://db/shopfloor")
    assert HubSettings(data_dir=tmp_path).database_url == "postgresql+psycopg://db/shopfloor"


def test_the_db_flag_overrides_shopfloor_hub_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_HUB_DB", "postgresql+psycopg://db/shopfloor")
    args = parse(register_cloud, "cloud", "identity", "--data-dir", str(tmp_path), "--db", "x://")
    assert HubSettings(data_dir=args.data_dir, db=args.db).database_url == "x://"


def test_without_a_database_the_hub_uses_sqlite_in_its_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPFLOOR_HUB_DB", raising=False)
    assert HubSettings(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path / 'hub.db'}"


# --- bad settings name their source, the key and what is expected -------------------------


def test_a_bad_value_in_node_json_names_the_file_the_key_and_the_expectation(
    tmp_path: Path,
) -> None:
    path = provisioned(tmp_path, broker_port="18 83")
    with pytest.raises(ConfigurationError) as err:
        EdgeSettings.load(tmp_path)
    assert err.value.message.startswith(
        f"{path}: broker_port: expected a whole number, got '18 83'"
    )
    assert err.value.message_zh.startswith(f"{path} 中的 broker_port：应为整数，实际为 '18 83'")


def test_a_value_outside_the_choices_in_node_json_lists_them(tmp_path: Path) -> None:
    provisioned(tmp_path, kind="shop")
    with pytest.raises(ConfigurationError, match="kind: expected 'store' or 'warehouse'"):
        EdgeSettings.load(tmp_path)


def test_an_unknown_key_in_node_json_is_refused(tmp_path: Path) -> None:
    path = provisioned(tmp_path, brokr_host="mqtt.example")
    with pytest.raises(ConfigurationError, match=f"{path}: brokr_host: is not a setting"):
        EdgeSettings.load(tmp_path)


def test_node_json_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "node.json").write_text('{"node_id": "store-1",', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"node\.json is not valid JSON \(line 1"):
        EdgeSettings.load(tmp_path)


def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provisioned(tmp_path)
    monkeypatch.setenv("SHOPFLOOR_EDGE_BROKER_PROTOCOL", "4")
    with pytest.raises(ConfigurationError) as err:
        EdgeSettings.load(tmp_path)
    assert err.value.message.startswith(
        "environment variable SHOPFLOOR_EDGE_BROKER_PROTOCOL: expected '5' or '3.1.1', got '4'"
    )
    assert err.value.message_zh.startswith(
        "环境变量 SHOPFLOOR_EDGE_BROKER_PROTOCOL：应为 '5'、'3.1.1' 之一"
    )


def test_a_bad_hub_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_HUB_HTTP_PORT", "0")
    with pytest.raises(ConfigurationError, match="SHOPFLOOR_HUB_HTTP_PORT: expected 1 or more"):
        HubSettings(data_dir=tmp_path)


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--timezone: expected a time zone"):
        HubSettings(data_dir=tmp_path, timezone="Mars/Olympus")


def test_a_node_that_was_never_initialised_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="run `shopfloor edge init` first"):
        EdgeSettings.load(tmp_path)


@pytest.mark.parametrize("node_id", ["hub", "cloud"])
def test_a_reserved_node_id_is_refused(tmp_path: Path, node_id: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        EdgeSettings(data_dir=tmp_path, node_id=node_id)
    assert "reserved for the hub" in err.value.message
    assert "总部保留" in err.value.message_zh


@pytest.mark.parametrize("node_id", ["Store-1", "store_1", "-store", "", "s" * 49])
def test_an_invalid_node_id_is_refused(tmp_path: Path, node_id: str) -> None:
    with pytest.raises(ConfigurationError, match="--node-id: expected lowercase letters"):
        EdgeSettings(data_dir=tmp_path, node_id=node_id)


def test_edge_init_with_a_reserved_id_exits_2_with_both_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["edge", "init", "--data-dir", str(tmp_path), "--node-id", "hub"]) == 2
    err = capsys.readouterr().err
    assert "error: --node-id: 'hub' is reserved for the hub" in err
    assert "错误：--node-id：节点编号 hub 为总部保留" in err
    assert not (tmp_path / "node.json").exists()


# --- flags are generated from the fields ----------------------------------------------------


def flags(model: type[BaseModel], *skip: str) -> set[str]:
    return {flag_of(name, info) or "" for name, info in model.model_fields.items()} - {
        "",
        *skip,
    }


def option_strings(register: Any, *command: str) -> set[str]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sub: Any = parser
    for name in command:
        action = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
        sub = action.choices[name]
    return {s for a in sub._actions for s in a.option_strings} - {"-h", "--help"}


def test_edge_init_has_a_flag_for_every_node_setting_but_extra() -> None:
    assert option_strings(register_edge, "edge", "init") == flags(EdgeSettings)
    assert "extra" in EdgeSettings.model_fields


def test_edge_run_has_a_flag_for_every_node_setting_but_its_identity() -> None:
    assert option_strings(register_edge, "edge", "run") == flags(EdgeSettings, "--node-id")


def test_cloud_run_has_a_flag_for_every_hub_setting() -> None:
    expected = flags(HubSettings) | {"--no-shared-subscription"}
    assert option_strings(register_cloud, "cloud", "run") == expected


def test_the_documented_flag_spellings_are_kept(tmp_path: Path) -> None:
    args = parse(
        register_edge, "edge", "init", "--data-dir", str(tmp_path), "--node-id", "store-1",
        "--label", "上海徐汇店", "--kind", "warehouse", "--tenant", "acme", "--hub-key", "KEY",
        "--broker-host", "mqtt.example", "--broker-port", "8883", "--broker-protocol", "3.1.1",
        "--broker-ca-file", "ca.pem", "--broker-cert-file", "c.pem", "--broker-key-file", "k.pem",
        "--http-host", "127.0.0.1", "--http-port", "8105",
    )  # fmt: skip
    assert (args.hub_public_key, args.broker_port, args.kind) == ("KEY", 8883, "warehouse")


def test_a_literal_setting_gets_its_choices_on_the_command_line() -> None:
    with pytest.raises(SystemExit):
        parse(register_edge, "edge", "run", "--data-dir", "d", "--broker-protocol", "4")


def test_a_setting_of_a_type_without_a_flag_must_say_so() -> None:
    class Odd(BaseModel):
        mapping: dict[str, int] = {}

    with pytest.raises(TypeError, match="no flag"):
        add_flags(argparse.ArgumentParser(), Odd)
