"""Group commit (`sync_protocol.store.group_commit`): sales made at the same moment share
one commit, each is answered only after it, and one refused sale leaves the others.

Real SQLite files (WAL, synchronous=FULL), real threads. To make a batch for sure, the
first write holds the lead (it waits inside its transaction) until the others have
queued behind it: they then commit together, in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.errors import NotFound
from domain.registry import REGISTRY
from domain.sales.queries import all_sales
from domain.sales.rules import CartLine
from edge.services.sales import Sale, record_sale
from sync_protocol.chain import GENESIS, next_link, op_digest
from sync_protocol.errors import StorageFull
from sync_protocol.signing import KeyRing, NodeKey
from sync_protocol.store import ReplicaStore, WriteTxn, schema
from sync_protocol.store.group_commit import GroupCommit
from tests.integration.test_storage_full import fill_disk, write_until_full
from tests.sync.replicas import stock_of

NODE = "store-1"
COLA = "6902538005141"
TILLS = 8


@pytest.fixture
def key() -> NodeKey:
    return NodeKey.generate()


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url: str, key: NodeKey) -> Iterator[ReplicaStore]:
    """A store node's ledger whose catalog sells cola at 3.50."""
    store = ReplicaStore(ledger_url, origin=NODE, key=key, registry=REGISTRY)
    with store.write() as txn:
        txn.append(
            "catalog.item_set",
            {"sku": COLA, "fields": {"name": "可口可乐", "price_fen": 350}},
            "hq",
        )
    yield store
    store.close()


def together(
    ledger: ReplicaStore, first: Callable[[], Any], others: list[Callable[[], Any]]
) -> tuple[Future[Any], list[Future[Any]]]:
    """Run `first` as a write that keeps the lead until every one of `others` is queued
    behind it, so that the others commit as one batch; their futures, once done."""
    group = GroupCommit.of(ledger)
    inside = threading.Event()
    release = threading.Event()

    def hold(txn: WriteTxn) -> str:
        inside.set()
        assert release.wait(10)
        return "first"

    pool = ThreadPoolExecutor(len(others) + 1)
    lead = pool.submit(lambda: (group.run(hold), first())[1])
    assert inside.wait(10)
    futures = [pool.submit(call) for call in others]
    deadline = time.monotonic() + 10
    while group.waiting < len(others):
        assert time.monotonic() < deadline, "the writes did not queue"
        time.sleep(0.001)
    release.set()
    pool.shutdown(wait=True)
    return lead, futures


def sell(ledger: ReplicaStore, sku: str = COLA, sale_id: str | None = None) -> Callable[[], Sale]:
    return lambda: record_sale(ledger, NODE, [CartLine(sku, 1)], "cashier", sale_id=sale_id)


def own_ops(ledger: ReplicaStore) -> list[Any]:
    return ledger.ops_range(NODE, 1, ledger.head(NODE))


def assert_one_chain(ledger: ReplicaStore, key: NodeKey) -> None:
    """Seqs 1..head with no gap, each op signed, each link built on the one before, and
    the head's link the last op's."""
    ops = own_ops(ledger)
    assert [op.seq for op in ops] == list(range(1, ledger.head(NODE) + 1))
    ring = KeyRing({NODE: key.public_b64})
    with ledger.read() as conn:
        links = dict(
            conn.execute(
                select(schema.ops.c.seq, schema.ops.c.chain).where(schema.ops.c.origin == NODE)
            ).all()
        )
    link = GENESIS
    for op in ops:
        ring.verify(op)
        link = next_link(link, op_digest(op))
        assert links[op.seq] == link, f"the chain breaks at seq {op.seq}"
    assert ledger.head_links([NODE])[NODE] == (ops[-1].seq, link)


def test_sales_made_together_share_one_commit_and_are_on_disk_once_answered(
    ledger: ReplicaStore, ledger_url: str, key: NodeKey
) -> None:
    group = GroupCommit.of(ledger)
    commits_before = group.commits

    _, futures = together(ledger, lambda: None, [sell(ledger) for _ in range(TILLS)])

    sales = [f.result() for f in futures]
    # The holding write's transaction, then one for all eight sales.
    assert group.commits - commits_before == 2
    assert sorted(s.op_seq for s in sales) == [2 + 2 * i for i in range(TILLS)]
    ledger.close()
    reopened = ReplicaStore(ledger_url, origin=NODE, registry=REGISTRY)
    try:
        with reopened.read() as conn:
            assert {s.sale_id for s in all_sales(conn)} == {s.sale_id for s in sales}
        assert reopened.head(NODE) == 1 + 2 * TILLS
        assert stock_of(reopened) == {(COLA, NODE): -TILLS}
        assert_one_chain(reopened, key)
    finally:
        reopened.close()


def test_a_refused_sale_leaves_the_others_of_its_batch_recorded(
    ledger: ReplicaStore, key: NodeKey
) -> None:
    calls = [sell(ledger), sell(ledger), sell(ledger, sku="NO-SUCH-SKU"), sell(ledger)]

    _, futures = together(ledger, lambda: None, calls)

    with pytest.raises(NotFound):
        futures[2].result()
    recorded = [f.result() for i, f in enumerate(futures) if i != 2]
    with ledger.read() as conn:
        assert {s.sale_id for s in all_sales(conn)} == {s.sale_id for s in recorded}
    assert stock_of(ledger) == {(COLA, NODE): -3}
    assert_one_chain(ledger, key)


def test_a_write_refused_after_appending_leaves_no_op_and_no_hole_in_the_seqs(
    ledger: ReplicaStore, key: NodeKey
) -> None:
    group = GroupCommit.of(ledger)

    def append_then_refuse(txn: WriteTxn) -> None:
        txn.append(
            "stock.moved", {"sku": COLA, "location": NODE, "qty": 5, "reason": "receive"}, "t"
        )
        raise NotFound("changed my mind")

    _, futures = together(
        ledger, lambda: None, [sell(ledger), lambda: group.run(append_then_refuse), sell(ledger)]
    )

    with pytest.raises(NotFound):
        futures[1].result()
    assert {f.result().op_seq for f in (futures[0], futures[2])} == {2, 4}
    assert ledger.head(NODE) == 5
    assert stock_of(ledger) == {(COLA, NODE): -2}  # the 5 received were undone
    assert_one_chain(ledger, key)


def test_a_write_that_breaks_the_transaction_fails_alone_and_the_others_commit(
    ledger: ReplicaStore, key: NodeKey
) -> None:
    group = GroupCommit.of(ledger)

    def broken(txn: WriteTxn) -> None:
        txn.conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")

    _, futures = together(
        ledger, lambda: None, [sell(ledger), lambda: group.run(broken), sell(ledger)]
    )

    with pytest.raises(Exception, match="no_such_table"):
        futures[1].result()
    assert len({futures[0].result().sale_id, futures[2].result().sale_id}) == 2
    assert stock_of(ledger) == {(COLA, NODE): -2}
    assert_one_chain(ledger, key)


def test_a_retry_in_the_same_batch_answers_what_the_first_call_answered(
    ledger: ReplicaStore,
) -> None:
    _, futures = together(
        ledger,
        lambda: None,
        [sell(ledger, sale_id="till-1-0001"), sell(ledger, sale_id="till-1-0001")],
    )

    first, retry = (f.result() for f in futures)
    assert (retry.sale_id, retry.op_seq, retry.total_fen) == (first.sale_id, first.op_seq, 350)
    assert {first.replayed, retry.replayed} == {False, True}
    assert stock_of(ledger) == {(COLA, NODE): -1}


def test_a_batch_the_full_disk_refuses_is_refused_whole_for_every_till(
    ledger: ReplicaStore, key: NodeKey
) -> None:
    free = fill_disk(ledger)
    write_until_full(lambda _i: sell(ledger)())
    head = ledger.head(NODE)

    _, futures = together(ledger, lambda: None, [sell(ledger) for _ in range(4)])

    for f in futures:
        with pytest.raises(StorageFull):
            f.result()
    assert ledger.head(NODE) == head
    free()
    record_sale(ledger, NODE, [CartLine(COLA, 1)], "cashier")
    assert ledger.head(NODE) == head + 2
    assert_one_chain(ledger, key)


def test_a_till_alone_commits_at_once_without_waiting_for_company(ledger: ReplicaStore) -> None:
    group = GroupCommit.of(ledger)
    before = group.commits

    for _ in range(3):
        record_sale(ledger, NODE, [CartLine(COLA, 1)], "cashier")

    assert group.commits - before == 3
    assert group.waiting == 0


def test_many_tills_at_once_keep_one_chain_and_lose_nothing(
    ledger: ReplicaStore, key: NodeKey
) -> None:
    """No holding here: whatever batches the threads happen to form."""
    with ThreadPoolExecutor(TILLS) as pool:
        sales = list(pool.map(lambda _i: sell(ledger)(), range(TILLS * 25)))

    assert len({s.sale_id for s in sales}) == TILLS * 25
    assert ledger.head(NODE) == 1 + 2 * TILLS * 25
    assert stock_of(ledger) == {(COLA, NODE): -TILLS * 25}
    assert_one_chain(ledger, key)
