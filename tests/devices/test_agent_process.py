"""`shopfloor devices run` as a real process: killed, its devices go offline by Last Will."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.agent.watch import BusWatcher
from devices.simulators.escpos_sim import EscPosSimulator
from tests.support.broker import BrokerProcess

TIMEOUT = 15.0


@pytest.fixture
def printer_sim() -> Iterator[EscPosSimulator]:
    sim = EscPosSimulator().start()
    yield sim
    sim.stop()


def write_config(path: Path, scanner: str, printer: str, sim: EscPosSimulator) -> Path:
    path.write_text(
        f"""
[agent]
id = "proc-{uuid.uuid4().hex[:8]}"
reopen_min_s = 0.2

[broker]
host = "127.0.0.1"
port = 1  # overridden by --broker-port

[[device]]
id = "{scanner}"
kind = "scanner"
driver = "replay"
scans = ["6901234567890"]

[[device]]
id = "{printer}"
kind = "printer"
host = "{sim.host}"
port = {sim.port}
""",
        encoding="utf-8",
    )
    return path


class AgentProcess:
    def __init__(self, config: Path, broker: BrokerProcess, log: Path) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "shopfloor_cli.main",
            "devices",
            "run",
            "--config",
            str(config),
            "--broker-port",
            str(broker.port),
        ]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(TIMEOUT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)


@pytest.fixture
def agent_process(
    mqtt_broker: BrokerProcess, tmp_path: Path, printer_sim: EscPosSimulator
) -> Iterator[tuple[AgentProcess, list[str]]]:
    scanner, printer = f"scanner-{uuid.uuid4().hex[:8]}", f"printer-{uuid.uuid4().hex[:8]}"
    devices = [scanner, printer]
    config = write_config(tmp_path / "devices.toml", scanner, printer, printer_sim)
    agent = AgentProcess(config, mqtt_broker, tmp_path / "agent.log")
    yield agent, devices
    agent.close()
    print(agent.log.read_text(errors="replace"))  # shown when the test failed


def test_killed_agent_goes_offline_by_last_will_and_online_again_on_restart(
    mqtt_broker: BrokerProcess, agent_process: tuple[AgentProcess, list[str]]
) -> None:
    agent, devices = agent_process
    with BusWatcher(mqtt_broker.host, mqtt_broker.port) as bus:
        agent.start()
        for device in devices:
            bus.wait_for_status(device, "online", TIMEOUT)

        killed = time.monotonic()
        agent.signal(signal.SIGKILL)
        for device in devices:
            will = bus.wait_for_status(device, "offline", TIMEOUT, after=killed)
            assert will.retained is False  # live delivery of the retained Will
            assert "Last Will" in will.data["detail"]

        restarted = time.monotonic()
        agent.start()
        for device in devices:
            bus.wait_for_status(device, "online", TIMEOUT, after=restarted)

    # A newcomer (the edge after a reboot) reads the retained status: online.
    with BusWatcher(mqtt_broker.host, mqtt_broker.port, device=devices[1]) as late:
        retained = late.wait_for_status(devices[1], "online", TIMEOUT)
        assert retained.retained and retained.data["kind"] == "printer"


def test_an_agent_stopped_by_sigterm_says_so_in_its_retained_status(
    mqtt_broker: BrokerProcess, agent_process: tuple[AgentProcess, list[str]]
) -> None:
    agent, devices = agent_process
    with BusWatcher(mqtt_broker.host, mqtt_broker.port) as bus:
        agent.start()
        bus.wait_for_status(devices[0], "online", TIMEOUT)

        agent.signal(signal.SIGTERM)

        stopped = bus.wait_for_status(devices[0], "offline", TIMEOUT)
        assert stopped.data["detail"] == "the device agent stopped"
    assert agent.proc is not None and agent.proc.returncode == 0
