"""The README's manual set-up of a hub and a node, command by command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from domain.registry import REGISTRY
from sync_protocol.store import ReplicaStore


def shopfloor(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shopfloor_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_commands_set_up_a_hub_and_an_enrolled_node(tmp_path: Path) -> None:
    hub_dir, node_dir = tmp_path / "hub", tmp_path / "store"
    hub_key = shopfloor("cloud", "identity", "--data-dir", str(hub_dir)).strip()

    out = shopfloor(
        "edge", "init", "--data-dir", str(node_dir), "--node-id", "store-sh-xuhui",
        "--label", "上海徐汇店", "--hub-key", hub_key, "--broker-host", "mqtt.example",
    )  # fmt: skip
    node_key = out.split("public key: ")[1].split()[0]
    settings = json.loads((node_dir / "node.json").read_text(encoding="utf-8"))
    assert settings["hub_public_key"] == hub_key and settings["broker_host"] == "mqtt.example"

    shopfloor(
        "cloud", "enroll-node", "store-sh-xuhui", "--public-key", node_key,
        "--label", "上海徐汇店", "--data-dir", str(hub_dir),
    )  # fmt: skip
    hub = ReplicaStore(f"sqlite:///{hub_dir / 'hub.db'}", origin="cloud", registry=REGISTRY)
    try:
        assert ("store-sh-xuhui", "上海徐汇店") in hub.enrolled()
    finally:
        hub.close()
    assert shopfloor("edge", "identity", "--data-dir", str(node_dir)).split() == [
        "store-sh-xuhui",
        node_key,
    ]


def test_enrolling_a_reserved_node_id_is_refused_with_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopfloor_cli.main", "cloud", "enroll-node", "hub",
         "--public-key", "AAAA", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "总部保留" in done.stderr
