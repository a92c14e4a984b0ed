"""web_ui: locale negotiation, catalogs, the fen and local_time filters, the base layout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from web_ui.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    load_catalog,
    negotiate_locale,
    parse_accept_language,
    translator,
)
from web_ui.rendering import fen, local_time, locale_context, make_templates, static_dir

# --- negotiate_locale ------------------------------------------------------------------


def test_default_is_simplified_chinese() -> None:
    assert DEFAULT_LOCALE == "zh-CN"
    assert negotiate_locale(None, None, None) == "zh-CN"
    assert negotiate_locale("", "", "") == "zh-CN"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        ("en", "zh-CN", "zh-CN", "en"),  # ?lang= beats everything
        ("zh-CN", "en", "en-US", "zh-CN"),
        (None, "en", "zh-CN,zh;q=0.9", "en"),  # cookie beats the header
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "zh-TW,en;q=0.5", "zh-CN"),  # the only Chinese catalog
        (None, None, "fr-FR,fr;q=0.9,en;q=0.8,zh;q=0.7", "en"),  # first supported, by q
        (None, None, "zh;q=0.2, en;q=0.9", "en"),  # q, not order
        (None, None, "en;q=0", "zh-CN"),  # q=0 means "not this"
        (None, None, "*", "zh-CN"),
        (None, None, "de", "zh-CN"),
        ("fr", None, "en", "en"),  # an unsupported ?lang= is skipped, not obeyed
        ("<script>", "garbage value", None, "zh-CN"),
        ("EN_gb", None, None, "en"),
        ("zh_Hans_CN", None, None, "zh-CN"),
        ("zh", None, None, "zh-CN"),
        (" en ", None, None, "en"),
    ],
)
def test_negotiate_locale(
    query: str | None, cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate_locale(query, cookie, header) == expected


def test_accept_language_is_ordered_by_quality_then_position() -> None:
    header = "fr;q=0.5, en-GB, zh-CN;q=0.8, de;q=oops, en;q=0.8"
    assert parse_accept_language(header) == ["en-GB", "zh-CN", "en", "fr"]


@given(st.text(max_size=80), st.text(max_size=20), st.text(max_size=80))
def test_negotiation_never_fails_on_junk(query: str, cookie: str, header: str) -> None:
    assert negotiate_locale(query, cookie, header) in SUPPORTED_LOCALES


# --- catalogs and translator -----------------------------------------------------------


def test_catalogs_have_the_same_keys_and_no_empty_texts() -> None:
    zh, en = load_catalog("zh-CN"), load_catalog("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    assert all(text.strip() for text in [*zh.values(), *en.values()])


def test_catalog_placeholders_agree_between_languages() -> None:
    zh, en = load_catalog("zh-CN"), load_catalog("en")
    fields = re.compile(r"\{(\w*)\}")
    for key in zh:
        assert set(fields.findall(zh[key])) == set(fields.findall(en[key])), key


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        ("sync.connected", "已连接", "connected"),
        ("sync.offline", "离线", "offline"),
        ("sync.ops_waiting", "待同步", "ops waiting"),
        ("sync.last_ack", "最后确认", "last ack"),
        ("sync.last_seen", "最后在线", "last seen"),
        ("sync.backlog", "积压", "backlog"),
        ("nav.stock", "库存", "Stock"),
        ("field.stock", "库存", "stock"),
        ("field.item", "商品", "item"),
        ("field.quantity", "数量", "quantity"),
        ("field.store", "门店", "store"),
        ("field.warehouse", "仓库", "warehouse"),
        ("field.node", "节点", "node"),
    ],
)
def test_seeded_words(key: str, zh: str, en: str) -> None:
    assert translator("zh-CN")(key) == zh
    assert translator("en")(key) == en


def test_missing_key_falls_back_to_the_key() -> None:
    assert translator("zh-CN")("nav.no_such_page") == "nav.no_such_page"
    assert translator("en")("nav.no_such_page") == "nav.no_such_page"


def test_unknown_locale_uses_the_default_catalog() -> None:
    assert translator("fr")("sync.offline") == "离线"
    assert translator("en-US")("sync.offline") == "offline"


def test_translator_formats_parameters() -> None:
    assert translator("zh-CN")("sync.backlog_n", n=12) == "积压 12 条"
    assert translator("en")("error.unknown_barcode", barcode="690123") == "Unknown barcode: 690123"
    # the wrong parameters show the raw text instead of breaking the page
    assert translator("en")("sync.backlog_n", count=3) == "backlog of {n}"
    # a missing key with parameters is still just the key
    assert translator("en")("no.such", n=1) == "no.such"


# --- fen -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "¥0.00"),
        (1, "¥0.01"),
        (99, "¥0.99"),
        (1234, "¥12.34"),
        (-100, "-¥1.00"),
        (-1, "-¥0.01"),
        (100000000, "¥1,000,000.00"),
        (None, ""),
    ],
)
def test_fen(amount: int | None, shown: str) -> None:
    assert fen(amount) == shown


@pytest.mark.parametrize("bad", [12.34, True, "1234"])
def test_fen_refuses_anything_but_integer_fen(bad: object) -> None:
    with pytest.raises(TypeError):
        fen(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trips(amount: int) -> None:
    shown = fen(amount)
    assert re.fullmatch(r"-?¥\d{1,3}(,\d{3})*\.\d{2}", shown)
    assert int(shown.replace("¥", "").replace(",", "").replace(".", "")) == amount


# --- local_time ------------------------------------------------------------------------


def test_local_time_shows_shanghai_by_default() -> None:
    assert local_time(datetime(2026, 11, 25, 6, 3, tzinfo=UTC)) == "2026-11-25 14:03"


def test_local_time_crosses_midnight() -> None:
    assert local_time(datetime(2026, 12, 31, 20, 30, tzinfo=UTC)) == "2027-01-01 04:30"


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-25T06:03:00Z",
        "2026-11-25T06:03:59.999+00:00",
        "2026-11-25T14:03:00+08:00",
        "2026-11-25 06:03:00",  # naive: UTC, as SQLite hands it back
        datetime(2026, 11, 25, 6, 3),
        datetime(2026, 11, 25, 1, 3, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_local_time_accepts_iso_strings_and_datetimes(value: datetime | str) -> None:
    assert local_time(value) == "2026-11-25 14:03"


def test_local_time_other_zone_and_format() -> None:
    instant = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert local_time(instant, "Europe/Berlin") == "2026-07-01 14:00"
    assert local_time(instant, "UTC", "%H:%M") == "12:00"


def test_local_time_of_nothing_is_empty() -> None:
    assert local_time(None) == ""


def test_local_time_rejects_junk() -> None:
    with pytest.raises(ValueError):
        local_time("yesterday")
    with pytest.raises(TypeError):
        local_time(1700000000)  # type: ignore[arg-type]


# --- templates -------------------------------------------------------------------------


def test_filters_in_templates_use_the_configured_timezone(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text(
        "{{ amount|fen }} {{ at|local_time }} {{ at|local_time(fmt='%H:%M', tz='UTC') }}",
        encoding="utf-8",
    )
    at = "2026-11-25T06:03:00Z"
    assert (
        make_templates([tmp_path]).get_template("t.html").render(amount=-250, at=at)
        == "-¥2.50 2026-11-25 14:03 06:03"
    )
    berlin = make_templates([tmp_path], timezone="Europe/Berlin")
    assert berlin.get_template("t.html").render(amount=0, at=at) == "¥0.00 2026-11-25 07:03 06:03"


def test_unknown_timezone_fails_at_startup() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        make_templates([], timezone="Mars/Olympus_Mons")


def test_extra_dirs_come_first_and_autoescape_is_on(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x.html").write_text("first {{ v }}", encoding="utf-8")
    (second / "x.html").write_text("second", encoding="utf-8")
    (second / "base.html").write_text("overridden base", encoding="utf-8")
    env = make_templates([first, second])
    assert env.get_template("x.html").render(v="<b>") == "first &lt;b&gt;"
    assert env.get_template("base.html").render() == "overridden base"


def test_undefined_variables_raise(tmp_path: Path) -> None:
    (tmp_path / "typo.html").write_text("{{ itme.name }}", encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError):
        make_templates([tmp_path]).get_template("typo.html").render()


def test_base_layout(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% block title %}{{ t("nav.stock") }}{% endblock %}'
        '{% block content %}<td class="num">{{ 1234|fen }}</td>{% endblock %}',
        encoding="utf-8",
    )
    env = make_templates([tmp_path])
    html = env.get_template("page.html").render(**locale_context("en"), csrf_token='a"b<c>')
    assert '<html lang="en">' in html
    assert "<title>Stock</title>" in html
    assert "¥12.34" in html
    # the token is JSON inside a single-quoted attribute: nothing can break out of it
    assert 'hx-headers=\'{"X-CSRF-Token": "a\\"b\\u003cc\\u003e"}\'' in html
    assert 'href="?lang=zh-CN"' in html
    assert re.search(r'href="\?lang=en"[^>]*aria-current="true"', html)
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert scripts == [
        "/static/css/shopfloor.css",
        "/static/js/htmx.min.js",
        "/static/js/htmx-ext-sse.min.js",
    ]
    for ref in scripts:
        assert (static_dir() / ref.removeprefix("/static/")).is_file()


def test_base_layout_without_optional_context_defaults_to_chinese() -> None:
    html = make_templates([]).get_template("base.html").render()
    assert '<html lang="zh-CN">' in html
    assert "hx-headers" not in html


def test_no_cdn_anywhere_in_web_ui() -> None:
    package = static_dir().parent
    for path in [*package.glob("templates/**/*.html"), *package.glob("static/css/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "unpkg.com" not in text and "jsdelivr" not in text, path
