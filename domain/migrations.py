"""`python -m domain.migrations current|upgrade URL`, `revision -m MSG [--area NAME]`:
the replica store's migrations with every registered area's branch."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from domain.registry import REGISTRY
from sync_protocol.store import migrate


def main(argv: Sequence[str] | None = None) -> int:
    return migrate.main(
        argv,
        areas=REGISTRY.migration_locations(),
        target_metadata=REGISTRY.metadata(),
    )


if __name__ == "__main__":
    sys.exit(main())
