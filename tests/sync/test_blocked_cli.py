"""`shopfloor edge|cloud blocked` and `release-origin`: a person sees what a replica
blocked for equivocation, and lifts the block with their name and reason on record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from edge.settings import EdgeSettings
from shopfloor_cli.main import main
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.replica import Equivocation

FORK = Equivocation(origin="store-2", seq=7, held='{"seq":7,"qty":5}', offered='{"seq":7,"qty":9}')


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    """A node's data dir whose ledger has blocked store-2."""
    data = tmp_path / "node"
    assert main(["edge", "init", "--data-dir", str(data), "--node-id", "store-1"]) == 0
    ledger = ledger_of(data)
    try:
        ledger.block_origin(FORK, at_ms=1_700_000_000_000)
    finally:
        ledger.close()
    return data


def ledger_of(data: Path) -> ReplicaStore:
    settings = EdgeSettings.load(data)
    return ReplicaStore(
        settings.ledger_url,
        origin=settings.node_id,
        key=NodeKey.load_or_create(settings.key_path),
        registry=REGISTRY,
    )


def test_blocked_lists_each_blocked_origin_with_both_versions(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["edge", "blocked", "--data-dir", str(node_dir)]) == 0
    out = capsys.readouterr().out
    assert "store-2  seq 7  since 2023-11-14T22:13:20+00:00" in out
    assert 'held: {"seq":7,"qty":5}' in out and 'offered: {"seq":7,"qty":9}' in out


def test_blocked_as_json_gives_one_line_per_origin(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["edge", "blocked", "--data-dir", str(node_dir), "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["origin"] == "store-2"


def test_release_lifts_the_block_and_records_who_decided_and_why(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["edge", "release-origin", "store-2", "--data-dir", str(node_dir)]
    assert main([*argv, "--by", "店长 王芳", "--why", "the hub's copy is the true one"]) == 0
    assert "store-2 released by 店长 王芳" in capsys.readouterr().out
    ledger = ledger_of(node_dir)
    try:
        assert not ledger.is_blocked("store-2")
        (decision,) = [i for i in ledger.incidents() if i["kind"] == "origin_released"]
    finally:
        ledger.close()
    assert decision["disposition"] == "released" and decision["seq"] == 7
    assert decision["reason"].startswith("released by 店长 王芳: the hub's copy is the true one")
    assert json.loads(decision["payload"]) == {"held": FORK.held, "offered": FORK.offered}


def test_releasing_an_origin_that_is_not_blocked_fails_and_records_nothing(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["edge", "release-origin", "store-9", "--data-dir", str(node_dir)]
    assert main([*argv, "--by", "Li", "--why", "typo"]) == 1
    assert "store-9 is not blocked" in capsys.readouterr().out
    ledger = ledger_of(node_dir)
    try:
        assert ledger.is_blocked("store-2")
        assert not [i for i in ledger.incidents() if i["kind"] == "origin_released"]
    finally:
        ledger.close()


def test_the_hub_lists_and_releases_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "hub"
    assert main(["cloud", "blocked", "--data-dir", str(data)]) == 0
    assert "no origin is blocked" in capsys.readouterr().out
    argv = ["cloud", "release-origin", "store-2", "--data-dir", str(data)]
    assert main([*argv, "--by", "Li", "--why", "nothing to release"]) == 1
