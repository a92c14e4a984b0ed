"""The device agent's configuration errors: name the file, the key path and the expectation.

``AgentConfigError`` carries an English message and its Chinese ``message_zh``; the
message is built from pydantic's validation errors: where the bad value came from (the
``--broker-*`` flag, the ``SHOPFLOOR_DEVICES_*`` variable, or the file and its key path
such as ``device[2].baudrate`` with the device's id) and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from devices.errors import DeviceError

ENV_PREFIX = "SHOPFLOOR_DEVICES_"
#: The kinds of [[device]] table: the tags of the union, left out of key paths.
DEVICE_KINDS = ("scanner", "scale", "printer")


class AgentConfigError(DeviceError):
    """``devices.toml`` (or an override of it) is invalid. What to do: fix the key named in
    the message, restart."""

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message


def refuse(message: str, message_zh: str) -> PydanticCustomError:
    return PydanticCustomError("bilingual", "{en}", {"en": message, "zh": message_zh})


EXPECTED: dict[str, tuple[str, str]] = {
    "int_parsing": ("expected a whole number", "应为整数"),
    "int_type": ("expected a whole number", "应为整数"),
    "int_from_float": ("expected a whole number", "应为整数"),
    "float_parsing": ("expected a number", "应为数字"),
    "float_type": ("expected a number", "应为数字"),
    "bool_parsing": ("expected true or false", "应为 true 或 false"),
    "bool_type": ("expected true or false", "应为 true 或 false"),
    "string_type": ("expected text", "应为文本"),
    "string_too_short": ("expected text, not empty", "不能为空"),
    "literal_error": ("expected {expected}", "应为 {expected} 之一"),
    "greater_than": ("expected a value above {gt}", "应大于 {gt}"),
    "greater_than_equal": ("expected {ge} or more", "应不小于 {ge}"),
    "less_than_equal": ("expected {le} or less", "应不大于 {le}"),
    "model_type": ("expected a table", "应为表"),
    "model_attributes_type": ("expected a table", "应为表"),
    "dict_type": ("expected a table", "应为表"),
    "tuple_type": ("expected a list", "应为列表"),
    "list_type": ("expected a list", "应为列表"),
    "missing": ("is missing: it is required", "缺少此项（必填）"),
    "extra_forbidden": ("is not a key of this table (a typo?)", "不是此表的键（拼写错误？）"),
    "union_tag_not_found": ("kind is missing: expected one of {kinds}", "缺少 kind：应为 {kinds}"),
    "union_tag_invalid": (
        "kind: expected one of {expected_tags}",
        "kind 应为 {expected_tags} 之一",
    ),
}
_NO_INPUT = {"missing", "extra_forbidden", "bilingual", "union_tag_not_found"}


def explain(error: ErrorDetails) -> tuple[str, str]:
    kind = error["type"]
    ctx = {"kinds": ", ".join(repr(k) for k in DEVICE_KINDS), **(error.get("ctx") or {})}
    if kind == "bilingual":
        en, zh = str(ctx["en"]), str(ctx["zh"])
    elif kind in EXPECTED:
        en_text, zh_text = EXPECTED[kind]
        en = en_text.format(**ctx)
        zh = zh_text.format(**{k: _zh_list(v) for k, v in ctx.items()})
    else:
        en = zh = str(ctx.get("error", error["msg"]))
    value = ctx["tag"] if kind == "union_tag_invalid" else error.get("input")
    if kind not in _NO_INPUT and not isinstance(value, dict | list) and value is not None:
        en, zh = f"{en}, got {value!r}", f"{zh}，实际为 {value!r}"
    return en, zh


def _zh_list(value: object) -> object:
    """``'a', 'b' or 'c'`` → ``'a'、'b'、'c'``."""
    return value.replace(" or ", "、").replace(", ", "、") if isinstance(value, str) else value


def key_path(loc: Sequence[int | str]) -> tuple[str, int | None]:
    """``("device", 2, "scale", "baudrate")`` → ``("device[2].baudrate", 2)``: the union's tag
    (which pydantic puts in the location) left out."""
    out, index, previous = "", None, None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            index = part if previous == "device" else index
        elif not (isinstance(previous, int) and part in DEVICE_KINDS):
            out += f".{part}" if out else part
        previous = part
    return out, index


class Where:
    """Where a bad value came from, by the precedence flag > environment > file."""

    def __init__(
        self,
        given: Mapping[str, Any],
        file: tuple[Path, Mapping[str, Any]] | None,
        *,
        environment: bool = True,
    ) -> None:
        self.given, self.file, self.environment = given, file, environment

    def __call__(self, loc: Sequence[int | str]) -> tuple[str, str]:
        path, index = key_path(loc)
        table, key = (str(loc[0]), str(loc[1])) if len(loc) > 1 else (path, "")
        flags = self.given.get(table)
        if table == "config" and "config" in self.given:
            return "--config", "--config"
        if isinstance(flags, Mapping) and key in flags:
            return f"--{table}-{key}".replace("_", "-"), f"--{table}-{key}".replace("_", "-")
        env = f"{ENV_PREFIX}{table}_{key}".upper().rstrip("_")
        name = next((k for k in os.environ if k.upper() == env), None) if self.environment else None
        if name and table != "device":
            return f"environment variable {name}", f"环境变量 {name}"
        if self.file is None:
            return path or "settings", path or "设置"
        file, data = self.file
        where_en, where_zh = f"{file}: {path}", f"{file} 中的 {path}"
        if not path:
            where_en = where_zh = str(file)
        devices = data.get("device")
        if index is not None and isinstance(devices, list) and index < len(devices):
            dev_id = devices[index].get("id") if isinstance(devices[index], dict) else None
            if isinstance(dev_id, str):
                where_en, where_zh = f"{where_en} (id {dev_id!r})", f"{where_zh}（设备 {dev_id}）"
        return where_en, where_zh


def config_error(exc: ValidationError, where: Where) -> AgentConfigError:
    en_lines, zh_lines = [], []
    for error in exc.errors(include_url=False):
        (where_en, where_zh), (expected_en, expected_zh) = where(error["loc"]), explain(error)
        en_lines.append(f"{where_en}: {expected_en}")
        zh_lines.append(f"{where_zh}：{expected_zh}")
    return AgentConfigError("; ".join(en_lines), message_zh="；".join(zh_lines))
