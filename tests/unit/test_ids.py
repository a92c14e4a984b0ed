"""New aggregate ids are UUIDv7: version 7, RFC variant, and in the order they were made."""

from __future__ import annotations

import uuid

from sync_protocol.ids import new_id


def test_a_new_id_is_a_version_7_uuid() -> None:
    made = uuid.UUID(new_id())
    assert made.version == 7 and made.variant == uuid.RFC_4122


def test_ids_made_one_after_another_sort_in_that_order() -> None:
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
