"""The lifecycle every driver shares: it owns one port, opened and closed by it alone,
and works as a context manager (`with ScaleDriver(config) as scale: ...`)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self


class OwnedDevice:
    """Subclasses define `open()` and `close()`; `close()` must be safe to call twice."""

    def open(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
