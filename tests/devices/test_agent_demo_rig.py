"""The demo bench: simulators plus a devices.toml that the agent runs as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devices.agent.agent import Agent
from devices.agent.config import load_config
from devices.agent.watch import BusMessage, BusWatcher
from devices.simulators.demo_rig import UNKNOWN_CODE, start_demo_rig
from tests.support.broker import BrokerProcess

TIMEOUT = 10.0


def has_code(code: str) -> Callable[[BusMessage], bool]:
    return lambda m: m.data.get("code") == code


def test_the_demo_rig_config_puts_a_scanner_a_scale_and_a_printer_on_the_bus(
    mqtt_broker: BrokerProcess, tmp_path: Path
) -> None:
    with start_demo_rig(
        tmp_path / "rig",
        broker_port=mqtt_broker.port,
        codes=["6901234567890"],
        scan_interval_s=0.3,
        animate_every_s=None,
        agent_id="rig-test",
    ) as rig:
        rig.scale.set_weight(480)
        config = load_config(rig.config_path)
        assert [d.id for d in config.devices] == rig.device_ids
        with BusWatcher(mqtt_broker.host, mqtt_broker.port) as bus, Agent(config):
            for device in rig.device_ids:
                bus.wait_for_status(device, "online", TIMEOUT)
            codes = [
                bus.wait_for(has_code(code), TIMEOUT).data["code"]
                for code in ("6901234567890", UNKNOWN_CODE)
            ]
            weight = bus.wait_for(lambda m: m.data.get("type") == "weight", TIMEOUT).data
            bus.send(
                rig.printer_id,
                {"cmd": "print", "receipt": {"store_name": "演示店", "lines": []}},
            )
            [doc] = rig.printer.wait_for_documents(1, TIMEOUT)

    assert codes == ["6901234567890", UNKNOWN_CODE]
    assert (weight["device"], weight["grams"]) == (rig.scale_id, 480)
    assert "演示店" in doc.text()
    assert rig.edge_extra()["workstations"]["lane-1"]["devices"] == rig.device_ids
