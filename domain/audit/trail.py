"""Which ops are audit entries and how each reads; the search over them; CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, get_args

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from sync_protocol.hlc import pack, wall_ms_of
from sync_protocol.ops import Op
from sync_protocol.store import schema
from sync_protocol.store.oplog import op_of

ADJUSTING_REASONS: Final = frozenset({"adjust", "count"})
_SCAN_CHUNK: Final = 500


Action = Literal[
    "login",
    "login_failed",
    "logout",
    "pin_failed",
    "locked_out",
    "staff_unlocked",
    "staff_changed",
    "user_changed",
    "token_issued",
    "token_revoked",
    "catalog_changed",
    "stock_adjusted",
    # One action a supervisor's PIN authorised at a colleague's till (the names of
    # domain.staff.kinds.AuthorisedAction).
    "void",
    "refund",
    "price_override",
    "discount_over_limit",
    "no_sale_drawer",
]
"""What an entry says was done: a stable English key; pages translate it."""


@dataclass(frozen=True)
class AuditEntry:
    at_ms: int
    actor: str
    action: str  # a stable English key; pages translate it
    subject: str  # the staff id, SKU… the action was about
    location: str  # the node where it happened
    authorised_by: str | None
    detail: str
    origin: str
    seq: int


Describe = Callable[[Op], "AuditEntry | None"]


def _entry(op: Op, action: str, subject: str, detail: str = "", **kw: str | None) -> AuditEntry:
    return AuditEntry(
        at_ms=wall_ms_of(op.hlc),
        actor=op.actor,
        action=action,
        subject=subject,
        location=str(kw.get("location") or op.body.get("location") or op.origin),
        authorised_by=kw.get("authorised_by"),
        detail=detail,
        origin=op.origin,
        seq=op.seq,
    )


def _staff_changed(op: Op) -> AuditEntry:
    fields = dict(op.body.get("fields", {}))
    if "pin_hash" in fields:  # a hash is no one's business in a report
        fields["pin_hash"] = "(changed)"
    detail = ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return _entry(op, "staff_changed", str(op.body["staff_id"]), detail, location=op.origin)


def _stock_adjusted(op: Op) -> AuditEntry | None:
    if op.body.get("reason") not in ADJUSTING_REASONS:
        return None  # sales and receipts are business, audited by their own records
    detail = f"qty {op.body['qty']:+d} ({op.body['reason']})"
    return _entry(op, "stock_adjusted", str(op.body["sku"]), detail)


def _user_changed(op: Op) -> AuditEntry:
    fields = dict(op.body.get("fields", {}))
    detail = ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return _entry(op, "user_changed", str(op.body["username"]), detail, location=op.origin)


def _token_changed(op: Op) -> AuditEntry:
    issued = op.body.get("change") == "issued"
    detail = f"{op.body.get('label', '')}" + (
        f" ({', '.join(op.body.get('scopes') or [])})" if issued else ""
    )
    action = "token_issued" if issued else "token_revoked"
    return _entry(op, action, str(op.body["token_id"]), detail, location=op.origin)


DESCRIBERS: Final[dict[str, Describe]] = {
    "staff.pin_accepted": lambda op: _entry(op, "login", str(op.body["staff_id"])),
    "staff.pin_failed": lambda op: _entry(op, "pin_failed", str(op.body["staff_id"])),
    "staff.locked_out": lambda op: _entry(op, "locked_out", str(op.body["staff_id"])),
    "staff.unlocked": lambda op: _entry(
        op, "staff_unlocked", str(op.body["staff_id"]), authorised_by=str(op.body["by"])
    ),
    "staff.member_set": _staff_changed,
    "catalog.item_set": lambda op: _entry(
        op,
        "catalog_changed",
        str(op.body["sku"]),
        ", ".join(f"{k}={v}" for k, v in sorted(op.body["fields"].items())),
        location=op.origin,
    ),
    "stock.moved": _stock_adjusted,
    "access.user_login": lambda op: _entry(
        op,
        "login" if op.body.get("ok") else "login_failed",
        str(op.body["username"]),
        location=op.origin,
    ),
    "access.logged_out": lambda op: _entry(op, "logout", op.actor),
    "access.user_changed": _user_changed,
    "access.token_changed": _token_changed,
    "staff.action_authorised": lambda op: _entry(
        op,
        str(op.body["action"]),
        str(op.body["staff_id"]),
        str(op.body.get("detail") or ""),
        authorised_by=str(op.body["by"]),
    ),
}
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)


def audit_entry(op: Op) -> AuditEntry | None:
    describe = DESCRIBERS.get(op.kind)
    return describe(op) if describe is not None else None


def audit_trail(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    location: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The newest entries first that match every filter given; `until_ms` exclusive."""
    found: list[AuditEntry] = []
    for op in _candidates(conn, actor=actor, since_ms=since_ms, until_ms=until_ms):
        entry = audit_entry(op)
        if entry is None or (action and entry.action != action):
            continue
        if location and entry.location != location:
            continue
        found.append(entry)
        if len(found) >= limit:
            break
    return found


def _candidates(
    conn: Connection, *, actor: str | None, since_ms: int | None, until_ms: int | None
) -> Iterator[Op]:
    o = schema.ops
    stmt = select(o).where(o.c.kind.in_(sorted(DESCRIBERS)))  # ix_ops_kind_hlc
    if actor:
        stmt = stmt.where(o.c.actor == actor)
    if since_ms is not None:
        stmt = stmt.where(o.c.hlc >= pack(since_ms, 0))
    if until_ms is not None:
        stmt = stmt.where(o.c.hlc < pack(until_ms, 0))
    stmt = stmt.order_by(o.c.hlc.desc(), o.c.origin, o.c.seq.desc()).limit(_SCAN_CHUNK)
    page = stmt
    # In chunks (a filter in Python may skip most of the rows), each from the key where
    # the last one ended: no chunk rereads the ones before it, and an op written between
    # two chunks moves nothing (an offset would reread or skip one).
    while True:
        rows = conn.execute(page).all()
        yield from (op_of(r) for r in rows)
        if len(rows) < _SCAN_CHUNK:
            return
        last = rows[-1]
        page = stmt.where(_after(int(last.hlc), str(last.origin), int(last.seq)))


def _after(hlc: int, origin: str, seq: int) -> ColumnElement[bool]:
    """The ops after (hlc, origin, seq) in the trail's order: hlc down, then origin up,
    then seq down. `hlc <= :hlc` on its own lets the index start there."""
    o = schema.ops
    return and_(
        o.c.hlc <= hlc,
        or_(o.c.hlc < hlc, o.c.origin > origin, and_(o.c.origin == origin, o.c.seq < seq)),
    )


CSV_HEADER: Final = (
    "时间 time (UTC)",
    "操作人 actor",
    "操作 action",
    "对象 subject",
    "地点 location",
    "授权人 authorised by",
    "详情 detail",
    "来源 origin",
    "序号 seq",
)


def audit_csv(entries: Iterable[AuditEntry]) -> str:
    """The entries as CSV for Excel: UTF-8 with a byte-order mark (without one, Excel
    on a Chinese Windows reads the file as GBK and garbles every name)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for e in entries:
        at = datetime.fromtimestamp(e.at_ms / 1000, UTC).isoformat(timespec="seconds")
        who = (e.actor, e.action, e.subject, e.location, e.authorised_by or "")
        writer.writerow([at, *who, e.detail, e.origin, e.seq])
    return out.getvalue()
