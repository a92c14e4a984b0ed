"""Each `shopfloor` command imports only what it runs (a till's Pi has 150 MiB for the
node, the device agent and Mosquitto together: docs/benchmarks.md §5).

Every case runs the real command in a fresh interpreter and reads the modules it had
loaded when it exited, so nothing imported by this test process can hide or fake one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.net import free_port

# What a process that only runs the device agent never needs: the node's and the hub's
# store, web stack and signing.
NOT_FOR_THE_AGENT = {
    "sqlalchemy",
    "alembic",
    "sqlmodel",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "cryptography",
    "edge",
    "cloud",
    "sync_protocol",
    "domain",
    "web_ui",
}
TIMEOUT = 30.0

# Runs `shopfloor <argv>` as the console script does and writes sys.modules at exit
# (after a --help's SystemExit and after a signalled agent's clean stop alike).
RUN_AND_LIST = """\
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from shopfloor_cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def command(argv: list[str], out: Path, *, prelude: str = "") -> list[str]:
    return [sys.executable, "-c", prelude + RUN_AND_LIST, str(out), *argv]


def packages(out: Path) -> set[str]:
    """The top-level packages of the modules the process had loaded."""
    return {name.partition(".")[0] for name in json.loads(out.read_text(encoding="utf-8"))}


def loaded_by(argv: list[str], tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run(command(argv, out), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return packages(out)


def test_devices_run_parses_without_the_node_or_hub_stack(tmp_path: Path) -> None:
    loaded = loaded_by(["devices", "run", "--help"], tmp_path)
    assert "devices" in loaded
    assert loaded & NOT_FOR_THE_AGENT == set()


def test_a_running_device_agent_loads_nothing_of_the_node(tmp_path: Path) -> None:
    """The whole path of `shopfloor devices run`: config, drivers, MQTT links, threads,
    the stop on SIGTERM. No broker listens: the agent keeps running and retrying."""
    config = tmp_path / "devices.toml"
    config.write_text(
        f"""
[agent]
id = "imports"

[broker]
host = "127.0.0.1"
port = {free_port()}

[[device]]
id = "scanner-1"
kind = "scanner"
driver = "replay"
scans = ["6901234567890"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "modules.json"
    log = tmp_path / "agent.log"
    with log.open("wb") as sink:
        agent = subprocess.Popen(
            command(["devices", "run", "--config", str(config)], out),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        while "device agent imports: 1 device(s)" not in log.read_text(errors="replace"):
            assert agent.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the agent did not start in time"
            time.sleep(0.05)
        agent.terminate()
        assert agent.wait(TIMEOUT) == 0, log.read_text(errors="replace")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    loaded = packages(out)
    assert {"devices", "paho", "pydantic"} <= loaded
    assert loaded & NOT_FOR_THE_AGENT == set()


@pytest.mark.parametrize(
    ("group", "others"),
    [
        ("edge", {"cloud"}),
        ("cloud", {"edge", "devices"}),
        ("sim", {"edge", "cloud", "devices", "pydantic"}),
    ],
)
def test_each_command_group_leaves_the_others_alone(
    group: str, others: set[str], tmp_path: Path
) -> None:
    assert loaded_by([group, "--help"], tmp_path) & others == set()


def test_help_lists_every_group(tmp_path: Path) -> None:
    out = tmp_path / "modules.json"
    done = subprocess.run(command(["--help"], out), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert "{edge,cloud,demo,sim,devices}" in done.stdout


def test_without_the_device_drivers_help_leaves_devices_out_but_asking_for_it_fails(
    tmp_path: Path,
) -> None:
    """A hub-only install has no evdev: `shopfloor --help` still works; `shopfloor
    devices …` names the missing module instead of calling `devices` an invalid choice."""
    no_evdev = "import sys; sys.modules['evdev'] = None\n"  # `import evdev` now fails
    out = tmp_path / "modules.json"
    listing = subprocess.run(
        command(["--help"], out, prelude=no_evdev), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert listing.returncode == 0, listing.stderr
    assert "{edge,cloud,demo,sim}" in listing.stdout

    asked = subprocess.run(
        command(["devices", "run", "--help"], out, prelude=no_evdev),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert asked.returncode != 0
    assert "evdev" in asked.stderr and "invalid choice" not in asked.stderr
