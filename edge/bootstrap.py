"""A new or very stale node starts from the hub's signed snapshot, then syncs on.

When (`reason_to_start_over`): the ledger holds no op at all (a new node), or the hub
holds at least `snapshot_behind_ops` more of its own ops than the node does (what the hub
last said it holds, saved by the sync session). The snapshot comes over HTTP from
`hub_url` (cloud/snapshots.py), is checked against the hub key this node is enrolled
with (`hub_public_key`) and installed in one transaction (`sync_protocol.snapshot`); the
ops after it then arrive through the normal session.

Never at the cost of an op: the install is refused whenever the node holds anything the
hub lacks (its own ops past what the hub holds, or a history the hub's chain links do
not prove), and the node then catches up op by op as before.
"""

from __future__ import annotations

import logging

import httpx

from edge.settings import EdgeSettings
from sync_protocol import snapshot
from sync_protocol.errors import ConfigurationError, SnapshotRejected, SyncError
from sync_protocol.hlc import system_ms
from sync_protocol.node_proof import HEADER, node_proof
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import NEEDS_SNAPSHOT_KEY, REBUILD_HOLD

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 120.0


def reason_to_start_over(ledger: ReplicaStore, behind_ops: int) -> str | None:
    """Why this ledger should start from a snapshot: "new", "stale", or "rebuild" (an
    upgrade must rebuild projections of a compacted ledger); None when it should not."""
    if ledger.get_meta(NEEDS_SNAPSHOT_KEY) is not None:
        return "rebuild"
    held = ledger.version_vector()
    if not any(held.values()) and ledger.pending_count() == 0:
        # Once only: a hub with nothing yet gives an empty snapshot, and asking again
        # every check would not change that (the session brings what comes later).
        return "new" if snapshot.installed(ledger) is None else None
    hub_has = ledger.peer_state(HUB).vv.get(HUB, 0)
    if hub_has - held.get(HUB, 0) >= behind_ops:
        return "stale"
    return None


def fetch_snapshot(
    hub_url: str,
    key: NodeKey,
    node_id: str,
    held: dict[str, int],
    *,
    timeout: float = FETCH_TIMEOUT_S,
    max_bytes: int = snapshot.MAX_INFLATED,
) -> bytes:
    """The hub's snapshot for this node, as bytes (not trusted yet: `snapshot.read`
    checks them). Unreachable hub or an error answer: `SyncError`."""
    url = f"{hub_url.rstrip('/')}/api/sync/nodes/{node_id}/snapshot"
    params = {"hub_seq": held.get(HUB, 0), "own_seq": held.get(node_id, 0)}
    asked = snapshot.request_line(node_id, **params)
    proof = {HEADER: node_proof(key, node_id, asked, at_ms=system_ms())}
    try:
        with httpx.stream("GET", url, params=params, headers=proof, timeout=timeout) as answer:
            if answer.status_code != 200:
                answer.read()
                raise SyncError(
                    f"the hub answered {answer.status_code} for the snapshot: {answer.text[:200]}",
                    message_zh=f"总部未能提供快照（{answer.status_code}）",
                )
            data = bytearray()
            for chunk in answer.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise SyncError(
                        "the hub's snapshot is over the size limit",
                        message_zh="总部快照超过大小限制",
                    )
            return bytes(data)
    except httpx.HTTPError as exc:
        raise SyncError(
            f"cannot fetch the snapshot from {url}: {exc}",
            message_zh="无法从总部获取快照，稍后重试",
        ) from exc


def start_over(
    ledger: ReplicaStore, settings: EdgeSettings, *, data: bytes | None = None
) -> snapshot.Installed:
    """Fetch (unless given `data`), verify and install the hub's snapshot. Refusals are
    recorded as incidents (kind `snapshot_rejected`) and raised; nothing changes then."""
    if not settings.hub_public_key:
        raise ConfigurationError(
            "no hub public key configured: a snapshot cannot be verified",
            message_zh="未配置总部公钥，无法验证快照",
        )
    if data is None:
        if not settings.hub_url:
            raise ConfigurationError(
                "no hub_url configured: the node cannot fetch a snapshot",
                message_zh="未配置总部地址（hub_url），无法获取快照",
            )
        if ledger.key is None:
            raise ConfigurationError(
                "the ledger has no node key: it cannot prove itself to the hub",
                message_zh="账本没有节点密钥，无法向总部证明身份",
            )
        held = {origin: seq for origin, (seq, _) in ledger.head_links().items()}
        data = fetch_snapshot(settings.hub_url, ledger.key, ledger.origin, held)
    try:
        snap = snapshot.read(
            data,
            signer=HUB,
            public_key_b64=settings.hub_public_key,
            for_node=ledger.origin,
            registry=ledger.registry,
        )
        installed = snapshot.install(ledger, snap)
    except SnapshotRejected as exc:
        log.error("snapshot from the hub refused: %s", exc.message)
        ledger.record_incident(
            disposition="rejected",
            kind="snapshot_rejected",
            peer=HUB,
            reason=exc.message,
            payload=data[:64].hex(),
        )
        raise
    if ledger.local_writes_held == REBUILD_HOLD:
        ledger.local_writes_held = None  # the projections are whole again
    log.warning(
        "started from the hub's snapshot %s: heads %s, %d rows, %d old ops forgotten",
        installed.digest[:12],
        installed.heads,
        installed.rows,
        installed.ops_forgotten,
    )
    return installed
