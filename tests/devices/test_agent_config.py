"""devices.toml, print commands and recordings: parsed strictly, errors that name the key."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devices.agent.commands import InvalidCommand, parse_command
from devices.agent.config import (
    BrokerConfig,
    PrinterConfig,
    ScaleDeviceConfig,
    ScannerConfig,
    load_config,
    parse_config,
)
from devices.agent.config_errors import AgentConfigError
from devices.agent.documents import InvalidDocument, label_from_json, receipt_from_json
from devices.agent.replay import load_recording, save_recording
from devices.agent.topics import parse_topic
from devices.cli import register
from devices.scanner.decoder import ScanDecoder
from devices.scanner.evdev_scanner import decoder_config
from devices.simulators.scanner_recordings import record_scan

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "devices.toml.example"


def config(*devices: dict[str, Any], **agent: Any) -> Any:
    return parse_config({"agent": {"id": "t", **agent}, "device": list(devices)}, Path("/srv"))


def test_the_shipped_example_config_is_valid() -> None:
    cfg = load_config(EXAMPLE)
    kinds = {d.id: type(d) for d in cfg.devices}
    assert kinds == {
        "lane1-scanner": ScannerConfig,
        "desk-scanner": ScannerConfig,
        "lane1-scale": ScaleDeviceConfig,
        "lane1-printer": PrinterConfig,
        "desk-label": PrinterConfig,
    }
    label = cfg.device("desk-label")
    assert isinstance(label, PrinterConfig) and label.address == "usb://1fc9:2016"
    assert cfg.spool_dir == EXAMPLE.parent / "spool"


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            {"id": "a", "kind": "toaster"},
            "device[0] (id 'a'): kind: expected one of 'scanner', 'scale', 'printer'",
        ),
        ({"id": "a"}, "device[0] (id 'a'): kind is missing"),
        ({"id": "a/b", "kind": "scale", "port": "/dev/x"}, "device[0].id (id 'a/b'): expected"),
        ({"id": "a", "kind": "scale"}, "device[0].port (id 'a'): is missing"),
        (
            {"id": "a", "kind": "scale", "port": "/dev/x", "protocl": "sics"},
            "device[0].protocl (id 'a'): is not a key",
        ),
        (
            {"id": "a", "kind": "scale", "port": "/dev/x", "protocol": "lb"},
            "device[0].protocol (id 'a'): expected 'continuous', 'toledo8217' or 'sics', got 'lb'",
        ),
        ({"id": "a", "kind": "scanner", "driver": "evdev"}, "device[0].path (id 'a'): is missing"),
        (
            {"id": "a", "kind": "scanner", "path": "/x", "suffix": "space bar"},
            "device[0].suffix (id 'a'): unknown scanner suffix",
        ),
        ({"id": "a", "kind": "scanner", "driver": "replay"}, "needs recording or scans"),
        ({"id": "a", "kind": "printer"}, "device[0].host (id 'a'): is missing"),
        (
            {"id": "a", "kind": "printer", "host": "h", "paper": "A4"},
            "device[0].paper (id 'a'): expected '58mm' or '80mm', got 'A4'",
        ),
        (
            {"id": "a", "kind": "printer", "host": "h", "port": "nine"},
            "device[0].port (id 'a'): expected a whole number, got 'nine'",
        ),
        (
            {"id": "a", "kind": "printer", "driver": "usb", "vendor_id": "zz"},
            "device[0].vendor_id (id 'a'): expected a USB id",
        ),
    ],
)
def test_a_bad_device_table_is_refused_naming_the_key_and_the_expectation(
    device: dict[str, Any], message: str
) -> None:
    with pytest.raises(AgentConfigError) as err:
        config(device)
    assert message in str(err.value)


def test_two_devices_with_one_id_are_refused() -> None:
    scale = {"id": "s", "kind": "scale", "port": "/dev/x"}
    with pytest.raises(AgentConfigError, match="duplicate device id"):
        config(scale, scale)


def test_a_missing_config_file_says_where_the_example_is(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError, match=r"devices\.toml\.example"):
        load_config(tmp_path / "devices.toml")


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devices.toml"
    path.write_text('[agent]\nid = "till-1"\n' + text, encoding="utf-8")
    return path


SCALE_TABLE = '[[device]]\nid = "lane1-scale"\nkind = "scale"\nport = "/dev/ttyUSB0"\n'


def test_a_bad_value_in_the_file_names_the_file_the_key_and_the_expectation(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, SCALE_TABLE + 'baudrate = "fast"\n')
    with pytest.raises(AgentConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: device[0].baudrate (id 'lane1-scale'): expected a whole number, got 'fast'"
    )
    assert err.value.message_zh == (
        f"{path} 中的 device[0].baudrate（设备 lane1-scale）：应为整数，实际为 'fast'"
    )


def test_a_file_that_is_not_toml_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[broker\n")
    with pytest.raises(AgentConfigError, match=f"{path} is not valid TOML"):
        load_config(path)


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, '[broker]\nport = 1884\npassword = "in-file"\n')
    monkeypatch.setenv("SHOPFLOOR_DEVICES_BROKER_PASSWORD", "from-env")
    broker = load_config(path).broker
    assert (broker.port, broker.password) == (1884, "from-env")


def test_a_flag_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "[broker]\nport = 1884\n")
    monkeypatch.setenv("SHOPFLOOR_DEVICES_BROKER_PORT", "1885")
    assert load_config(path, broker={"port": 1886}).broker.port == 1886


def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_DEVICES_BROKER_PORT", "mqtt")
    with pytest.raises(AgentConfigError) as err:
        load_config(write_config(tmp_path, ""))
    assert str(err.value) == (
        "environment variable SHOPFLOOR_DEVICES_BROKER_PORT: expected a whole number, got 'mqtt'"
    )


def test_the_config_file_can_be_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, SCALE_TABLE)
    monkeypatch.setenv("SHOPFLOOR_DEVICES_CONFIG", str(path))
    assert load_config().source == path.resolve()


def test_every_broker_setting_but_the_password_has_a_flag() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    run = parser.parse_args(["devices", "run"])
    flags = {name.removeprefix("broker_") for name in vars(run) if name.startswith("broker_")}
    assert flags == set(BrokerConfig.model_fields) - {"password"}


def test_topics_name_one_device_and_one_channel() -> None:
    assert parse_topic("sf/dev/lane1-scanner/event") == ("lane1-scanner", "event")
    assert parse_topic("sf/dev/lane1-scale/status") == ("lane1-scale", "status")
    for bad in (
        "sf/dev/x",
        "sf/dev//event",
        "sf/dev/x/event/more",
        "sf/node/x/event",
        "sf/dev/x/y",
    ):
        assert parse_topic(bad) is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"id": "x"}', 'has no "cmd"'),
        (b"x" * 300_000, "over"),
    ],
)
def test_a_malformed_command_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidCommand, match=message):
        parse_command(payload)


def test_a_receipt_from_plain_json_keeps_money_in_fen_and_weights_exact() -> None:
    receipt = receipt_from_json(
        {
            "store_name": "上海徐汇店",
            "lines": [
                {"name": "散装苹果", "qty": "0.532", "unit_price_fen": 1280, "amount_fen": 681}
            ],
            "totals": [{"label": "合计", "amount_fen": 681, "bold": True}],
            "barcode": {"data": "690123456789", "symbology": "EAN13"},
            "qr": {"payload": "https://example.com/r/1"},
            "open_drawer": True,
        }
    )
    assert receipt.lines[0].qty == Decimal("0.532")
    assert receipt.totals[0].amount_fen == 681 and receipt.totals[0].bold
    assert receipt.barcode is not None and receipt.barcode.data == "6901234567892"
    assert receipt.open_drawer and receipt.cut


@pytest.mark.parametrize(
    ("receipt", "message"),
    [
        ({"lines": []}, "receipt.store_name is required"),
        (
            {
                "store_name": "店",
                "lines": [{"name": "水", "qty": 1.5, "unit_price_fen": 1, "amount_fen": 1}],
            },
            "not a float",
        ),
        (
            {
                "store_name": "店",
                "lines": [{"name": "水", "unit_price_fen": "2元", "amount_fen": 1}],
            },
            "unit_price_fen",
        ),
        (
            {"store_name": "店", "lines": [], "barcode": {"data": "123", "symbology": "EAN13"}},
            "EAN-13 needs 12 or 13 digits",
        ),
        ({"store_name": "店", "lines": [], "colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_a_malformed_receipt_is_refused_with_the_path_of_the_field(
    receipt: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidDocument) as err:
        receipt_from_json(receipt)
    assert message in str(err.value)


def test_a_label_from_plain_json() -> None:
    label = label_from_json(
        {"title": "货架 A1-03", "lines": ["可口可乐 330ml"], "size": {"width_mm": 50}}
    )
    assert (label.title, label.lines, label.size.width_mm, label.size.height_mm) == (
        "货架 A1-03",
        ("可口可乐 330ml",),
        50,
        30,
    )


def test_a_saved_recording_decodes_exactly_like_the_original(tmp_path: Path) -> None:
    events = record_scan("SF-2024-ABC9", 1_700_000_000.0)
    loaded = load_recording(save_recording(events, tmp_path / "r.jsonl"))
    decoder = ScanDecoder(decoder_config())
    assert decoder.feed_events(loaded) == ["SF-2024-ABC9"]
    assert [(e.type, e.code, e.value) for e in loaded] == [
        (e.type, e.code, e.value) for e in events
    ]
