"""The Jinja2 environment shared by the edge UI and the hub console, and its filters.

``make_templates([edge_templates])`` looks in the caller's directories first, then in
``web_ui/templates`` (``base.html``), so an app can override any shared template by name.
Undefined variables raise (``StrictUndefined``): a typo fails the test that renders the page
instead of silently printing nothing; optional variables are tested with ``is defined``.

Filters:
- ``fen``: integer fen → ``"¥1,234.56"`` (DESIGN §3: money is integer fen).
- ``local_time``: aware UTC datetime or ISO-8601 string → ``"2026-11-25 14:03"`` in the
  display timezone (STYLE §13: UTC in the store, local time only at display).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import jinja2

from web_ui.i18n import LOCALE_NAMES, SUPPORTED_LOCALES, match_locale, translator

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
TIME_FORMAT: Final = "%Y-%m-%d %H:%M"
_PACKAGE_DIR: Final = Path(__file__).parent


def static_dir() -> Path:
    """Directory to mount at ``/static`` (css/, js/ with the vendored htmx)."""
    return _PACKAGE_DIR / "static"


def templates_dir() -> Path:
    """Directory of the shared templates (``base.html``)."""
    return _PACKAGE_DIR / "templates"


def fen(value: int | None) -> str:
    """Format integer fen as yuan: 1234 → ``"¥12.34"``, -100 → ``"-¥1.00"``, None → ``""``.

    Floats are refused (TypeError): money is never a float anywhere in Shopfloor.
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"fen expects an integer amount in fen, got {value!r}")
    yuan, cents = divmod(abs(value), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{yuan:,}.{cents:02d}"


def to_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO-8601 string.

    Naive values are taken to be UTC: that is what the store writes, and SQLite hands
    timestamps back without their offset.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    elif not isinstance(value, datetime):
        raise TypeError(f"expected a datetime or an ISO-8601 string, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_time(
    value: datetime | str | None,
    tz: str | tzinfo = DEFAULT_TIMEZONE,
    fmt: str = TIME_FORMAT,
) -> str:
    """Show a UTC instant in ``tz``: ``"2026-11-25T06:03:00Z"`` → ``"2026-11-25 14:03"``.

    None → ``""`` (write ``{{ x|local_time or "—" }}`` for a placeholder).
    """
    if value is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return to_utc(value).astimezone(zone).strftime(fmt)


def locale_context(locale: str) -> dict[str, Any]:
    """Template variables every page needs for its language.

    ``locale`` (a supported locale; unknown → zh-CN), ``t`` (its translator) and
    ``locale_names`` (for the language switch).
    """
    chosen = match_locale(locale) or SUPPORTED_LOCALES[0]
    return {"locale": chosen, "t": translator(chosen), "locale_names": LOCALE_NAMES}


def make_templates(
    extra_dirs: list[Path], *, timezone: str = DEFAULT_TIMEZONE
) -> jinja2.Environment:
    """A Jinja2 environment over ``extra_dirs`` (searched first) and ``web_ui/templates``.

    Autoescaping is on for every template. ``timezone`` (an IANA name from the settings) is
    where ``local_time`` shows instants; ``{{ ts|local_time(tz="UTC", fmt="%H:%M") }}``
    overrides it per use. An unknown timezone raises ZoneInfoNotFoundError here, at start-up.
    """
    zone = ZoneInfo(timezone)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*map(str, extra_dirs), str(templates_dir())]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )

    def local_time_filter(
        value: datetime | str | None, fmt: str = TIME_FORMAT, tz: str | None = None
    ) -> str:
        return local_time(value, zone if tz is None else tz, fmt)

    env.filters["fen"] = fen
    env.filters["local_time"] = local_time_filter
    env.globals["display_timezone"] = timezone
    return env
