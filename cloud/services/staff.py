"""Staff accounts, owned by HQ: a manager creates them at the hub and they reach every
node with the PIN's hash (`domain.staff`), so a node offline for days logs them in."""

from __future__ import annotations

from pydantic import ValidationError

from domain.errors import BusinessRuleError, Conflict, NotFound
from domain.staff.kinds import MEMBER_SET, Role, StaffFields, is_staff_id
from domain.staff.pins import hash_pin
from domain.staff.queries import StaffAccount, staff_account
from sync_protocol.ops import Op
from sync_protocol.store import ReplicaStore


def staff_id_of(raw: str) -> str:
    staff_id = raw.strip()
    if not is_staff_id(staff_id) or staff_id.startswith("_"):
        raise BusinessRuleError(
            f"staff id {raw!r} must be 1-32 letters, digits, '.', '_' or '-', not starting "
            "with '_'",
            message_zh="员工编号只能是 1–32 位字母、数字、“.”、“_”或“-”，且不能以“_”开头",
        )
    return staff_id


def create_staff(
    store: ReplicaStore, staff_id: str, *, name: str, role: Role, pin: str, actor: str
) -> Op:
    """A new account with its first PIN; an id already taken is refused."""
    staff_id = staff_id_of(staff_id)
    if find_staff(store, staff_id) is not None:
        raise Conflict(f"staff id {staff_id} is taken", message_zh=f"员工编号 {staff_id} 已被使用")
    fields = _fields(name=name, role=role, pin_hash=hash_pin(pin), active=True)
    return _write(store, staff_id, fields, actor)


def change_staff(
    store: ReplicaStore,
    staff_id: str,
    *,
    actor: str,
    name: str | None = None,
    role: Role | None = None,
    pin: str | None = None,
    active: bool | None = None,
) -> Op:
    """Change some fields of an existing account (a new PIN is hashed here)."""
    staff_id = staff_id_of(staff_id)
    if find_staff(store, staff_id) is None:
        raise NotFound(f"no staff {staff_id}", message_zh=f"没有员工 {staff_id}")
    fields = _fields(
        name=name, role=role, pin_hash=hash_pin(pin) if pin is not None else None, active=active
    )
    if not fields.changes():
        raise BusinessRuleError("nothing to change", message_zh="没有需要修改的字段")
    return _write(store, staff_id, fields, actor)


def find_staff(store: ReplicaStore, staff_id: str) -> StaffAccount | None:
    with store.read() as conn:
        return staff_account(conn, staff_id)


def _fields(**given: object) -> StaffFields:
    try:
        return StaffFields.model_validate(given)
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise BusinessRuleError(
            f"invalid staff fields {names}", message_zh=f"员工信息无效：{'、'.join(names)}"
        ) from exc


def _write(store: ReplicaStore, staff_id: str, fields: StaffFields, actor: str) -> Op:
    with store.write() as txn:
        return txn.append(
            MEMBER_SET.name, {"staff_id": staff_id, "fields": fields.changes()}, actor
        )
