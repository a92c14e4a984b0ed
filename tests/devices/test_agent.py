"""The device agent on a real broker: replayed scans, a pty scale, a TCP printer.

Each test runs an in-process ``Agent`` on the session broker with device ids of its own
(the topics are per device, so tests never see each other's messages) and watches the
bus with ``BusWatcher``, the same tool ``shopfloor devices watch`` uses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.agent.agent import Agent
from devices.agent.config import parse_config
from devices.agent.replay import save_recording
from devices.agent.watch import BusMessage, BusWatcher
from devices.simulators.escpos_sim import EscPosSimulator
from devices.simulators.scale_sim import ScaleSimulator
from devices.simulators.scanner_recordings import record_scan, record_typing
from tests.support.broker import BrokerProcess

T0 = 1_700_000_000.0
TIMEOUT = 10.0

RECEIPT: dict[str, Any] = {
    "store_name": "上海徐汇店",
    "header_lines": ["收银员：张伟"],
    "lines": [
        {"name": "农夫山泉 550ml", "qty": 2, "unit_price_fen": 200, "amount_fen": 400},
        {"name": "康师傅红烧牛肉面", "qty": 1, "unit_price_fen": 450, "amount_fen": 450},
    ],
    "totals": [{"label": "合计", "amount_fen": 850, "bold": True}],
    "payments": [{"label": "微信支付", "amount_fen": 850}],
    "footer_lines": ["谢谢惠顾，欢迎再来"],
}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def watcher(mqtt_broker: BrokerProcess) -> Iterator[BusWatcher]:
    with BusWatcher(mqtt_broker.host, mqtt_broker.port) as bus:
        yield bus


@pytest.fixture
def run_agent(mqtt_broker: BrokerProcess, tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    """``run_agent([device tables], reopen_min_s=…)`` starts an agent; stopped at teardown."""
    started: list[Agent] = []

    def start(devices: list[dict[str, Any]], **agent: Any) -> Agent:
        config = parse_config(
            {
                "agent": {"id": unique("test"), "reopen_min_s": 0.1, "reopen_max_s": 0.5, **agent},
                "broker": {"host": mqtt_broker.host, "port": mqtt_broker.port},
                "device": devices,
            },
            tmp_path,
        )
        started.append(Agent(config))
        started[-1].start()
        return started[-1]

    yield start
    for a in started:
        a.stop()


def events(bus: BusWatcher, device: str, type_: str) -> list[dict[str, Any]]:
    return [m.data for m in bus.select(device, "event", type_)]


def is_result(request_id: str) -> Callable[[BusMessage], bool]:
    return lambda m: (
        m.data.get("type") == "command_result" and m.data.get("request_id") == request_id
    )


# --- scanner ---------------------------------------------------------------------------


def test_a_replayed_scan_becomes_exactly_one_scan_event_and_typing_is_ignored(
    run_agent: Callable[..., Agent], watcher: BusWatcher, tmp_path: Path
) -> None:
    scanner = unique("scanner")
    recording = (
        record_typing("hello 123", T0)  # a person at the keyboard, Enter included
        + record_scan("SF-2024-ABC9", T0 + 3)
        + record_typing("ABC-1", T0 + 4)  # typed, not scanned: too slow between keys
    )
    save_recording(recording, tmp_path / "scan.jsonl")
    # unplug_at_end: the offline status marks "the whole recording has been read".
    run_agent(
        [
            {
                "id": scanner,
                "kind": "scanner",
                "driver": "replay",
                "recording": "scan.jsonl",
                "speed": 0,
                "unplug_at_end": True,
            }
        ],
        reopen_min_s=30,
        reopen_max_s=30,
    )

    gone = watcher.wait_for(
        lambda m: m.device == scanner and "unplugged" in m.data.get("detail", ""), TIMEOUT
    )

    scans = [m.data for m in watcher.select(scanner, "event") if m.received_at <= gone.received_at]
    assert [(s["type"], s["device"], s["code"]) for s in scans] == [
        ("scan", scanner, "SF-2024-ABC9")
    ]
    assert gone.data["state"] == "offline"


def unplugged(device: str) -> Callable[[BusMessage], bool]:
    return lambda m: m.device == device and "unplugged" in m.data.get("detail", "")


def test_several_scanners_at_once_each_report_their_own_scans(
    run_agent: Callable[..., Agent], watcher: BusWatcher, tmp_path: Path
) -> None:
    lanes = {unique("lane1-scanner"): "6901234567890", unique("lane2-scanner"): "6902538005141"}
    devices = []
    for i, (scanner, code) in enumerate(lanes.items()):
        save_recording(record_scan(code, T0 + i * 0.002), tmp_path / f"scan{i}.jsonl")
        devices.append(
            {
                "id": scanner,
                "kind": "scanner",
                "driver": "replay",
                "recording": f"scan{i}.jsonl",
                "speed": 0,
                "unplug_at_end": True,
            }
        )
    run_agent(devices, reopen_min_s=30, reopen_max_s=30)

    for scanner in lanes:
        watcher.wait_for(unplugged(scanner), TIMEOUT)
    seen = {scanner: [e["code"] for e in events(watcher, scanner, "scan")] for scanner in lanes}
    assert seen == {scanner: [code] for scanner, code in lanes.items()}


def test_a_scanner_takes_no_commands_and_says_so(
    run_agent: Callable[..., Agent], watcher: BusWatcher
) -> None:
    scanner = unique("scanner")
    run_agent([{"id": scanner, "kind": "scanner", "driver": "replay", "scans": ["X-1"]}])
    watcher.wait_for_status(scanner, "online", TIMEOUT)

    watcher.send(scanner, {"cmd": "beep", "id": "b1"})

    answer = watcher.wait_for(is_result("b1"), TIMEOUT).data
    assert answer["ok"] is False and "beep" in answer["detail"]


# --- printer ---------------------------------------------------------------------------


@pytest.fixture
def printer_sim() -> Iterator[EscPosSimulator]:
    sim = EscPosSimulator().start()
    yield sim
    sim.stop()


def printer_device(device: str, sim: EscPosSimulator, **extra: Any) -> dict[str, Any]:
    return {
        "id": device,
        "kind": "printer",
        "driver": "network",
        "host": sim.host,
        "port": sim.port,
        "encoding": "gb18030",
        "paper": "80mm",
        "retry_first_s": 0.1,
        "retry_max_s": 0.3,
        "probe_interval_s": 0.5,
        **extra,
    }


def test_a_chinese_receipt_sent_as_a_print_command_prints_the_same_text(
    run_agent: Callable[..., Agent], watcher: BusWatcher, printer_sim: EscPosSimulator
) -> None:
    printer = unique("printer")
    run_agent([printer_device(printer, printer_sim)])
    watcher.wait_for_status(printer, "online", TIMEOUT)

    watcher.send(printer, {"cmd": "print", "id": "r1", "receipt": RECEIPT, "key": "S001-1"})

    [doc] = printer_sim.wait_for_documents(1, TIMEOUT)
    text = doc.text()
    for expected in (
        "上海徐汇店",
        "收银员：张伟",
        "农夫山泉 550ml",
        "康师傅红烧牛肉面",
        "合计",
        "微信支付",
        "谢谢惠顾，欢迎再来",
        "￥8.50",
    ):
        assert expected in text, text
    assert doc.cut is not None
    assert watcher.wait_for(is_result("r1"), TIMEOUT).data["ok"] is True


def test_a_job_waits_while_the_printer_is_off_and_prints_once_it_is_back(
    run_agent: Callable[..., Agent], watcher: BusWatcher, printer_sim: EscPosSimulator
) -> None:
    printer = unique("printer")
    run_agent([printer_device(printer, printer_sim)])
    watcher.wait_for_status(printer, "online", TIMEOUT)
    printer_sim.stop()
    switched_off = time.monotonic()

    watcher.send(printer, {"cmd": "print", "id": "r2", "receipt": RECEIPT})

    waiting = watcher.wait_for(
        lambda m: (
            m.device == printer
            and m.channel == "status"
            and m.received_at >= switched_off
            and m.data.get("state") == "offline"
            and m.data.get("jobs_waiting") == 1
            and m.data["jobs"][0]["attempts"] >= 1
        ),
        TIMEOUT,
        "offline with the job waiting",
    )
    job = waiting.data["jobs"][0]
    assert job["state"] == "retrying" and "unreachable" in job["last_error"]
    assert printer_sim.documents == []

    printer_sim.start()  # same port
    [doc] = printer_sim.wait_for_documents(1, TIMEOUT)
    assert "上海徐汇店" in doc.text()
    back = watcher.wait_for(
        lambda m: (
            m.device == printer
            and m.channel == "status"
            and m.data.get("state") == "online"
            and m.data.get("jobs_waiting") == 0
            and m.received_at > waiting.received_at
        ),
        TIMEOUT,
        "online with no job waiting",
    )
    assert back.data["jobs"] == []
    assert len(printer_sim.documents) == 1  # printed once, not once per retry


def test_a_malformed_or_unknown_command_is_answered_with_an_error_and_the_device_keeps_working(
    run_agent: Callable[..., Agent], watcher: BusWatcher, printer_sim: EscPosSimulator
) -> None:
    printer = unique("printer")
    run_agent([printer_device(printer, printer_sim)])
    watcher.wait_for_status(printer, "online", TIMEOUT)

    watcher.send(printer, b"\xff not json")
    watcher.send(printer, {"cmd": "self-destruct", "id": "u1"})
    watcher.send(printer, {"cmd": "print", "id": "m1", "receipt": {"store_name": "店"}})
    watcher.send(printer, {"cmd": "print", "id": "ok", "receipt": RECEIPT})

    assert "unknown command 'self-destruct'" in watcher.wait_for(is_result("u1")).data["detail"]
    assert "receipt.lines is required" in watcher.wait_for(is_result("m1")).data["detail"]
    assert watcher.wait_for(is_result("ok")).data["ok"] is True
    assert any(
        r["command"] == "?" and not r["ok"] for r in events(watcher, printer, "command_result")
    )
    assert len(printer_sim.wait_for_documents(1, TIMEOUT)) == 1


# --- scale -----------------------------------------------------------------------------


def test_a_scale_unplugged_and_replugged_resumes_publishing_weights(
    run_agent: Callable[..., Agent], watcher: BusWatcher, tmp_path: Path
) -> None:
    scale_id = unique("scale")
    with ScaleSimulator("continuous", link_dir=str(tmp_path), stream_interval=0.05) as sim:
        sim.set_weight(1234)
        run_agent([{"id": scale_id, "kind": "scale", "protocol": "continuous", "port": sim.path}])
        watcher.wait_for(lambda m: m.device == scale_id and m.data.get("grams") == 1234, TIMEOUT)

        sim.unplug()
        gone = watcher.wait_for_status(scale_id, "offline", TIMEOUT)
        sim.set_weight(2500)
        sim.replug()

        back = watcher.wait_for_status(scale_id, "online", TIMEOUT, after=gone.received_at)
        weight = watcher.wait_for(
            lambda m: m.device == scale_id and m.data.get("grams") == 2500, TIMEOUT
        )
        assert weight.received_at >= back.received_at
        assert weight.data["stable"] is True


def test_tare_on_a_sics_scale_is_applied_and_reported(
    run_agent: Callable[..., Agent], watcher: BusWatcher, tmp_path: Path
) -> None:
    scale_id = unique("scale")
    with ScaleSimulator("sics", link_dir=str(tmp_path)) as sim:
        sim.set_weight(150)
        run_agent([{"id": scale_id, "kind": "scale", "protocol": "sics", "port": sim.path}])
        watcher.wait_for(lambda m: m.device == scale_id and m.data.get("grams") == 150, TIMEOUT)

        watcher.send(scale_id, {"cmd": "tare", "id": "t1"})

        answer = watcher.wait_for(is_result("t1"), TIMEOUT).data
        assert (answer["ok"], answer["detail"]) == (True, "tare 150 g")
        sim.set_weight(1150)
        net = watcher.wait_for(
            lambda m: m.device == scale_id and m.data.get("grams") == 1000, TIMEOUT
        )
        assert net.data["tare_grams"] == 150
