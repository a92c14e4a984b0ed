"""devices.toml, print commands and recordings: parsed strictly, errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devices.agent.commands import InvalidCommand, parse_command
from devices.agent.config import (
    AgentConfigError,
    PrinterConfig,
    ScaleDeviceConfig,
    ScannerConfig,
    load_config,
    parse_config,
)
from devices.agent.documents import InvalidDocument, label_from_json, receipt_from_json
from devices.agent.replay import load_recording, save_recording
from devices.agent.topics import parse_topic
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
        ({"id": "a", "kind": "toaster"}, "kind must be one of"),
        ({"id": "a/b", "kind": "scale", "port": "/dev/x"}, "MQTT topic level"),
        ({"id": "a", "kind": "scale"}, "needs port"),
        (
            {"id": "a", "kind": "scale", "port": "/dev/x", "protocl": "sics"},
            "unknown key(s) protocl",
        ),
        ({"id": "a", "kind": "scale", "port": "/dev/x", "protocol": "lb"}, "protocol must be"),
        ({"id": "a", "kind": "scanner", "driver": "evdev"}, "missing required key 'path'"),
        (
            {"id": "a", "kind": "scanner", "path": "/x", "suffix": "space bar"},
            "unknown scanner suffix",
        ),
        ({"id": "a", "kind": "scanner", "driver": "replay"}, "needs recording or scans"),
        ({"id": "a", "kind": "printer"}, "needs host"),
        ({"id": "a", "kind": "printer", "host": "h", "paper": "A4"}, "paper must be"),
        ({"id": "a", "kind": "printer", "host": "h", "port": "9100"}, "port must be int"),
        ({"id": "a", "kind": "printer", "driver": "usb", "vendor_id": "zz"}, "USB id"),
    ],
)
def test_a_bad_device_table_is_refused_naming_the_problem(
    device: dict[str, Any], message: str
) -> None:
    with pytest.raises(AgentConfigError, match="device") as err:
        config(device)
    assert message in str(err.value)


def test_two_devices_with_one_id_are_refused() -> None:
    scale = {"id": "s", "kind": "scale", "port": "/dev/x"}
    with pytest.raises(AgentConfigError, match="duplicate device id"):
        config(scale, scale)


def test_a_missing_config_file_says_where_the_example_is(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError, match=r"devices\.toml\.example"):
        load_config(tmp_path / "devices.toml")


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
