"""Message catalogs (zh-CN default, en) and locale negotiation.

Catalogs are flat JSON objects in ``web_ui/i18n/<locale>.json`` mapping a dotted key
(``"sync.offline"``) to the text shown. A key missing from a catalog renders as the key
itself, so a gap is visible on the page instead of breaking it; a unit test keeps the two
catalogs' key sets equal.

Texts may hold ``str.format`` fields: ``t("sync.backlog_n", n=12)`` → ``"积压 12 条"``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, Protocol, TypeGuard

Locale = Literal["zh-CN", "en"]

DEFAULT_LOCALE: Final[Locale] = "zh-CN"
SUPPORTED_LOCALES: Final[tuple[Locale, ...]] = ("zh-CN", "en")
LOCALE_NAMES: Final[Mapping[Locale, str]] = {"zh-CN": "简体中文", "en": "English"}
CATALOG_DIR: Final = Path(__file__).parent / "i18n"

_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


class Translator(Protocol):
    """``t(key, **params) -> text``; usable wherever a ``Callable[[str], str]`` is."""

    def __call__(self, key: str, /, **params: object) -> str: ...


def is_locale(value: object) -> TypeGuard[Locale]:
    return value in SUPPORTED_LOCALES


@functools.cache
def load_catalog(locale: Locale) -> Mapping[str, str]:
    """The catalog of ``locale``, read once per process.

    Raises:
        ValueError: the file is not a JSON object of string → string.
    """
    path = CATALOG_DIR / f"{locale}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a flat JSON object of string keys to strings")
    return dict(data)


def translator(locale: str) -> Translator:
    """A function that looks keys up in ``locale``'s catalog (unknown locale → zh-CN).

    Missing keys come back unchanged. With keyword arguments the text is ``str.format``-ed;
    a text whose fields do not match the arguments is returned unformatted rather than
    breaking the page.
    """
    catalog = load_catalog(match_locale(locale) or DEFAULT_LOCALE)

    def t(key: str, /, **params: object) -> str:
        text = catalog.get(key, key)
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text

    return t


def match_locale(tag: str | None) -> Locale | None:
    """Map a language tag to a supported locale, or None.

    Any Chinese tag (``zh``, ``zh-CN``, ``zh_Hans``, ``zh-TW`` …) → ``zh-CN``, the only
    Chinese catalog; any English tag (``en``, ``en-US``, ``EN_gb``) → ``en``.
    """
    if not tag:
        return None
    tag = tag.strip()
    if not _TAG.match(tag):
        return None
    primary = re.split(r"[-_]", tag, maxsplit=1)[0].lower()
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (q=0 and junk dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate_locale(
    query_lang: str | None,
    cookie_lang: str | None,
    accept_language: str | None,
) -> Locale:
    """The locale to render in: ``?lang=`` beats the cookie beats ``Accept-Language``.

    Values that name no supported language are skipped; with nothing usable: zh-CN.
    """
    for candidate in (query_lang, cookie_lang, *parse_accept_language(accept_language)):
        found = match_locale(candidate)
        if found is not None:
            return found
    return DEFAULT_LOCALE
