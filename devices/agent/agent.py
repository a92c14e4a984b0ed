"""The device agent: one runner (thread + MQTT connection) per configured device.

    agent = Agent(load_config("devices.toml"))
    agent.start()          # every device connects, opens and publishes on its own
    ...
    agent.stop()           # each device publishes "offline" (agent stopped) and disconnects

``run_until_signalled`` is what ``shopfloor devices run`` does: start, wait for SIGINT
or SIGTERM, stop. A SIGKILL or a power cut skips ``stop``: then each device's Last Will
publishes its ``offline`` status.
"""

from __future__ import annotations

import logging
import signal
import threading

from devices.agent.adapters import make_adapter
from devices.agent.config import AgentConfig
from devices.agent.link import DeviceLink
from devices.agent.runner import DeviceRunner, will_payload

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.runners: dict[str, DeviceRunner] = {}
        for device in config.devices:
            adapter = make_adapter(device, config)
            link = DeviceLink(
                device.id, config.agent_id, config.broker, will_payload(adapter, config.agent_id)
            )
            self.runners[device.id] = DeviceRunner(
                adapter,
                link,
                agent_id=config.agent_id,
                reopen_min_s=config.reopen_min_s,
                reopen_max_s=config.reopen_max_s,
            )

    def start(self) -> None:
        self.config.spool_dir.mkdir(parents=True, exist_ok=True)
        for runner in self.runners.values():
            runner.start()
        log.info(
            "device agent %s: %d device(s) on %s:%d",
            self.config.agent_id,
            len(self.runners),
            self.config.broker.host,
            self.config.broker.port,
        )

    def stop(self) -> None:
        threads = [
            threading.Thread(target=runner.stop, name=f"stop {name}")
            for name, runner in self.runners.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run_until_signalled(config: AgentConfig) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("device agent: signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent = Agent(config)
    agent.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        agent.stop()
