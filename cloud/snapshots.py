"""Signed snapshots for nodes that start (or start over) from the hub.

A node's projections are folded from the origins the hub relays to it — the hub's own
stream and the node's own (docs/decisions.md, "Relay is per origin") — not from every
store's ops as the hub's console tables are. So the hub cannot hand out its own tables:
it folds that node's origins afresh, in one consistent read of its archive
(`sync_protocol.snapshot.take`), and signs the result with its key.

Served over HTTP, not the sync link (docs/compaction.md says why): one GET, answered
with the snapshot file; the node verifies it against the hub key it was enrolled with,
so the transport need not be trusted for integrity.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

from cloud.deps import HubDep
from domain.errors import NotFound
from domain.registry import REGISTRY
from sync_protocol import snapshot
from sync_protocol.hlc import system_ms
from sync_protocol.node_proof import HEADER, check_node_proof
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from web_ui.errors import error_responses

MAX_SEQ: Final = 2**63 - 1
NODE_ID: Final = r"^[a-z0-9][a-z0-9-]{0,47}$"

PREFIX = "/api/sync/nodes/"  # served by node proof, outside the login gate
router = APIRouter(prefix="/api/sync")


def relayed_origins(node: str) -> list[str]:
    """The origins whose ops reach `node`, hence fold into its projections."""
    return [HUB, node]


def snapshot_for(
    store: ReplicaStore, key: NodeKey, node: str, *, hub_seq: int = 0, own_seq: int = 0
) -> bytes:
    """The signed snapshot of what `node` would hold after every op relayed to it. The
    seqs it says it holds get the hub's chain links at them, for its safety check."""
    if node == HUB or node not in store.keyring(fresh=True):
        raise NotFound(f"no enrolled node {node!r}", message_zh=f"没有已登记的节点：{node}")
    held = {HUB: hub_seq, node: own_seq}
    return snapshot.take(
        store,
        origins=relayed_origins(node),
        for_node=node,
        key=key,
        registry=REGISTRY,  # a node's areas (the hub's own schema has no projection)
        held=held,
    )


SeqQuery = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_SEQ,
        description="the seq the node holds of this origin (0: none); the snapshot carries "
        "the hub's chain link there, so the node can prove its history is the hub's",
    ),
]


@router.get(
    "/nodes/{node_id}/snapshot",
    operation_id="node_snapshot",
    response_class=Response,
    responses={
        200: {
            "description": "the signed snapshot (docs/compaction.md): the node's projections "
            "and the heads they reflect, zlib-compressed canonical JSON after the magic and "
            "the hub's Ed25519 signature",
            "content": {snapshot.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(401, 403, 404, 422),
    },
)
def get_node_snapshot(
    hub: HubDep,
    node_id: Annotated[
        str,
        Path(min_length=1, max_length=48, pattern=NODE_ID, description="an enrolled node"),
    ],
    hub_seq: SeqQuery = 0,
    own_seq: SeqQuery = 0,
    proof: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=200,
            description="`<node>.<ms>.<signature>`: the node's Ed25519 signature over the "
            "request line and time (sync_protocol/node_proof.py). A snapshot holds the "
            "node's sales and its staff's PIN hashes: it goes to that node only",
        ),
    ] = None,
) -> Response:
    check_node_proof(
        proof,
        hub.store.keyring(),
        node_id=node_id,
        request=snapshot.request_line(node_id, hub_seq=hub_seq, own_seq=own_seq),
        now_ms=system_ms(),
    )
    data = snapshot_for(hub.store, hub.key, node_id, hub_seq=hub_seq, own_seq=own_seq)
    return Response(
        content=data,
        media_type=snapshot.MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
