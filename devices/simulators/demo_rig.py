"""A bench of simulated devices for ``shopfloor demo``: a scale, a printer, a scanner.

``start_demo_rig`` starts a continuous-output scale on a real pty (its weight changes
every few seconds, as if goods were put on it), an ESC/POS network printer on a free
TCP port, writes a recording of a wedge scanner scanning ``codes`` (with a little
keyboard typing in between, which the timing guard discards), and writes a
``devices.toml`` describing all three for the device agent::

    rig = start_demo_rig(base / "devices", broker_port=broker.port, codes=skus)
    # run the agent on it: shopfloor devices run --config <rig.config_path>
    settings_extra = rig.edge_extra()      # workstations for the store node
    ...
    rig.printer.documents                  # what was printed
    rig.stop()

Only ``devices`` is imported (DESIGN §1); the caller supplies barcodes of its catalog.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from evdev import InputEvent

from devices.agent.replay import save_recording
from devices.simulators.escpos_sim import EscPosSimulator
from devices.simulators.scale_sim import ScaleSimulator
from devices.simulators.scanner_recordings import record_scan, record_typing

SCANNER_ID = "demo-scanner"
SCALE_ID = "demo-scale"
PRINTER_ID = "demo-printer"
DEMO_CODES = ("6901234567890", "6902538005141", "6920459905012")
UNKNOWN_CODE = "6900000000017"  # not in any catalog: shows the unknown-barcode error


def demo_recording(
    codes: Sequence[str], interval_s: float = 6.0, *, with_unknown: bool = True
) -> list[InputEvent]:
    """Scans of ``codes`` every ``interval_s`` s, a person typing in between, and (by
    default) one unknown barcode at the end of each round."""
    events: list[InputEvent] = []
    ts = 1.0
    for i, code in enumerate([*codes, *([UNKNOWN_CODE] if with_unknown else [])]):
        if i == 1 and interval_s >= 3.0:
            # Someone types on a keyboard between two scans (about 1.1 s, well clear of
            # either scan): the decoder's timing guard discards it.
            events += record_typing("hello", ts - interval_s + 1.0)
        events += record_scan(code, ts)
        ts += interval_s
    return events


@dataclass
class DemoRig:
    directory: Path
    config_path: Path
    scale: ScaleSimulator
    printer: EscPosSimulator
    scanner_id: str = SCANNER_ID
    scale_id: str = SCALE_ID
    printer_id: str = PRINTER_ID
    _stop: threading.Event = field(default_factory=threading.Event)
    _animator: threading.Thread | None = None

    @property
    def device_ids(self) -> list[str]:
        return [self.scanner_id, self.scale_id, self.printer_id]

    def edge_extra(self, workstation: str = "lane-1", label: str = "1号收银台") -> dict[str, Any]:
        """``EdgeSettings.extra`` entries that put the rig on one POS lane."""
        return {
            "workstations": {
                workstation: {"kind": "pos", "label": label, "devices": self.device_ids}
            }
        }

    def stop(self) -> None:
        self._stop.set()
        if self._animator is not None:
            self._animator.join(2)
        self.scale.stop()
        self.printer.stop()

    def __enter__(self) -> DemoRig:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _animate(self, every_s: float) -> None:
        rng = random.Random(8217)
        while not self._stop.wait(every_s):
            grams = rng.choice([0, rng.randint(150, 2500)])
            self.scale.set_weight(grams, stable=False)  # the load is being put down…
            if self._stop.wait(0.6):
                return
            self.scale.set_weight(grams, stable=True)  # …and settles


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def start_demo_rig(
    directory: str | Path,
    *,
    broker_host: str = "127.0.0.1",
    broker_port: int = 1883,
    broker_protocol: str = "5",
    codes: Sequence[str] = DEMO_CODES,
    scan_interval_s: float = 6.0,
    animate_every_s: float | None = 5.0,
    agent_id: str = "demo",
) -> DemoRig:
    """Start the simulators and write ``devices.toml``; the caller runs the agent on it.

    ``broker_protocol`` is "5" for Mosquitto, "3.1.1" for the amqtt fallback broker.
    """
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    scale = ScaleSimulator("continuous", link_dir=str(directory), stream_interval=0.2)
    scale.start()
    scale.set_weight(0)
    printer = EscPosSimulator().start()
    recording = save_recording(
        demo_recording(codes, scan_interval_s), directory / "demo-scanner.jsonl"
    )
    config_path = directory / "devices.toml"
    config_path.write_text(
        "\n".join(
            [
                "# Written by devices/simulators/demo_rig.py for `shopfloor demo`.",
                "[agent]",
                f"id = {_toml_str(agent_id)}",
                'spool_dir = "spool"',
                "",
                "[broker]",
                f"host = {_toml_str(broker_host)}",
                f"port = {broker_port}",
                f"protocol = {_toml_str(broker_protocol)}",
                "",
                "[[device]]",
                f"id = {_toml_str(SCANNER_ID)}",
                'kind = "scanner"',
                'driver = "replay"',
                f"recording = {_toml_str(recording.name)}",
                'model = "演示扫码枪 (replay)"',
                "loop = true",
                "",
                "[[device]]",
                f"id = {_toml_str(SCALE_ID)}",
                'kind = "scale"',
                'protocol = "continuous"',
                f"port = {_toml_str(scale.path)}",
                'model = "演示电子秤 (pty)"',
                "",
                "[[device]]",
                f"id = {_toml_str(PRINTER_ID)}",
                'kind = "printer"',
                'driver = "network"',
                f"host = {_toml_str(printer.host)}",
                f"port = {printer.port}",
                'paper = "80mm"',
                'encoding = "gb18030"',
                'model = "演示小票打印机 (TCP)"',
                "probe_interval_s = 5",
                "retry_first_s = 1",
                "retry_max_s = 10",
                "",
            ]
        ),
        encoding="utf-8",
    )
    rig = DemoRig(directory, config_path, scale, printer)
    if animate_every_s is not None:
        rig._animator = threading.Thread(
            target=rig._animate, args=(animate_every_s,), name="demo-scale", daemon=True
        )
        rig._animator.start()
    return rig
