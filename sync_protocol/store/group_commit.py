"""Group commit: writes that arrive together share one transaction and one commit.

A durable commit waits for the disk (SQLite's WAL fsync with `synchronous=FULL`, or
PostgreSQL's WAL flush). When several tills ring up a sale at the same moment, each
waiting for its own fsync in turn wastes the disk's time; here the first writer to
find no commit under way becomes the *leader*: it takes every write queued so far,
runs them in one transaction, commits once, and hands each writer its own answer. The
writes that arrive while it commits queue for the next leader (one of them). Nobody
waits on a timer: a writer alone commits at once, as before.

The promises, each tested (`tests/unit/test_group_commit.py`):

- **answered after its own commit.** `run` returns (or raises) only once the
  transaction holding that write has committed (or failed): a write it answered is on
  disk.
- **one write's refusal is its own.** Each write of a batch of several runs in a
  savepoint (`WriteTxn.begin_part`): an exception it raises (a business rule refusing
  the sale) undoes what it wrote, ops, projections and head, and nothing else; the
  exception is what its caller gets.
- **a broken transaction is nobody else's either.** When a write fails in the
  database itself (a driver error, the disk full), the transaction may be unusable:
  it is rolled back whole, that write gets the error, and the others of its batch run
  again, without it, in a new transaction.
- **a failed commit fails the whole batch**, with the same error for each: nothing of
  it was stored (the API's 507 on a full disk says exactly that).
- **the ops of an origin stay one chain.** A batch is one transaction of one writer
  (the store's lock), its writes appended in turn: seqs follow on, each chain link
  builds on the one before, and the head is written once at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from sync_protocol.errors import StorageFull
from sync_protocol.store.dialect import is_storage_full

if TYPE_CHECKING:
    from sync_protocol.store.replica import ReplicaStore, WriteTxn

T = TypeVar("T")

# A batch this large is already one fsync for dozens of sales; bounding it bounds how
# long the first of them waits for the last.
MAX_BATCH = 64


@dataclass(eq=False)
class _Write(Generic[T]):
    """One caller's write and, once settled, its answer."""

    work: Callable[[WriteTxn], T]
    settled: bool = False
    value: Any = None
    error: BaseException | None = None

    def answer(self) -> T:
        if self.error is not None:
            raise self.error
        result: T = self.value
        return result


@dataclass
class _Outcome:
    write: _Write[Any]
    value: Any = None
    error: BaseException | None = None


class _BrokenBy(Exception):
    """The transaction failed in the database while `write` ran; `error` is what it
    raised (translated: a full disk is `StorageFull`)."""

    def __init__(self, write: _Write[Any], error: BaseException) -> None:
        super().__init__(str(error))
        self.write = write
        self.error = error


class GroupCommit:
    """The group commit of one store (`GroupCommit.of(store)`: one per store)."""

    _making: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: ReplicaStore, *, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._queue: list[_Write[Any]] = []
        self._leading = False
        # Transactions committed and writes they held, for tests and the benchmark.
        self.commits = 0
        self.writes = 0

    @classmethod
    def of(cls, store: ReplicaStore) -> GroupCommit:
        """The store's group commit, made on first use. Kept on the store itself, so it
        lives and goes with it."""
        group: GroupCommit | None = getattr(store, "_group_commit", None)
        if group is None:
            with cls._making:
                group = getattr(store, "_group_commit", None)
                if group is None:
                    group = cls(store)
                    store._group_commit = group  # type: ignore[attr-defined]
        return group

    @property
    def waiting(self) -> int:
        """Writes queued for the next transaction."""
        with self._lock:
            return len(self._queue)

    def run(self, work: Callable[[WriteTxn], T]) -> T:
        """Run `work(txn)` in a write transaction, with whatever else is queued, and
        answer once that transaction has committed."""
        write: _Write[T] = _Write(work)
        with self._lock:
            self._queue.append(write)
            while not write.settled:
                if self._leading:
                    self._turn.wait()
                    continue
                self._leading = True
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                self._lock.release()
                try:
                    self._commit_batch(batch)
                finally:
                    self._lock.acquire()
                    self._leading = False
                    # The settled ones return; one of those still queued leads next.
                    self._turn.notify_all()
        return write.answer()

    def _commit_batch(self, batch: list[_Write[Any]]) -> None:
        pending = batch
        try:
            while pending:
                try:
                    outcomes = self._transaction(pending)
                except _BrokenBy as broken:
                    _settle(broken.write, error=broken.error)
                    pending = [w for w in pending if w is not broken.write]
                    continue
                except BaseException as exc:  # BEGIN or COMMIT failed: nothing was stored
                    for w in pending:
                        _settle(w, error=exc)
                    return
                if outcomes:
                    self.commits += 1
                    self.writes += len(outcomes)
                for outcome in outcomes:
                    _settle(outcome.write, outcome.value, outcome.error)
                return
        finally:
            # Never leave a caller waiting, whatever happened above.
            for w in batch:
                if not w.settled:
                    _settle(w, error=RuntimeError("group commit ended without an answer"))

    def _transaction(self, pending: list[_Write[Any]]) -> list[_Outcome]:
        """One transaction of `pending`; raises `_BrokenBy` when one of them broke it."""
        outcomes: list[_Outcome] = []
        culprit: _Write[Any] | None = None
        alone = len(pending) == 1
        try:
            with self.store.write() as txn:
                for write in pending:
                    if alone:
                        # Nothing else to keep: its failure is the transaction's.
                        culprit = write
                        outcomes.append(_Outcome(write, write.work(txn)))
                        culprit = None
                        continue
                    mark = txn.begin_part()
                    try:
                        value = write.work(txn)
                    except Exception as exc:
                        if _breaks_transaction(txn.conn, exc):
                            culprit = write
                            raise
                        txn.undo_part(mark)
                        outcomes.append(_Outcome(write, error=exc))
                    else:
                        txn.keep_part()
                        outcomes.append(_Outcome(write, value))
        except BaseException as exc:
            if culprit is None:
                raise
            if alone:
                _settle(culprit, error=exc)
                return []
            raise _BrokenBy(culprit, exc) from exc
        return outcomes


def _settle(write: _Write[Any], value: Any = None, error: BaseException | None = None) -> None:
    write.value, write.error, write.settled = value, error, True


def _breaks_transaction(conn: Connection, exc: BaseException) -> bool:
    """Whether `exc` came from the database (the transaction may be unusable now) rather
    than from the caller's own code refusing the write."""
    if isinstance(exc, StorageFull | SQLAlchemyError) or is_storage_full(exc):
        return True
    dbapi = conn.dialect.loaded_dbapi
    return isinstance(exc, dbapi.Error)
