"""Settings declared once: what the node's and the hub's settings models share.

A setting is one field of a pydantic model. Its name, type, default and ``description``
give the settings file's key, the environment variable (the model's ``env_prefix`` plus
the name in capitals) and the command-line flag, which `add_flags` generates:
``--name-with-dashes``, ``choices`` from a ``Literal``, ``--x/--no-x`` for a bool, the help
from the description. A field says otherwise in ``json_schema_extra``:

    {"flag": "--hub-key"}   its flag has another name
    {"flag": None}          no flag (a setting only for the file)
    {"env": False}          not read from the environment (honoured by the model's sources)

`settings_error` turns a ``ValidationError`` into a `ConfigurationError` that says where
the bad value came from (the file and key, the environment variable, or the flag) and
what is expected, in English and Chinese. `UplinkBroker` is the MQTT broker and tenant
that the node and the hub both connect to.

Nothing here names a business setting; the models live in ``edge.settings`` and
``cloud.settings``, and docs/configuration.md lists them.
"""

from __future__ import annotations

import argparse
import os
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError, PydanticUndefined

from sync_protocol.errors import ConfigurationError
from sync_protocol.transport.mqtt import BrokerAddress, ProtocolName

FLAG = "flag"
ENV = "env"

Loc = tuple[int | str, ...]
#: Where a value came from, in English and in Chinese: "--broker-port", "/d/node.json: broker_port".
Where = Callable[[Loc], tuple[str, str]]


# --- the fields' own declarations ----------------------------------------------------------


def _extra(info: FieldInfo) -> Mapping[str, object]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def flag_of(name: str, info: FieldInfo) -> str | None:
    """The field's command-line flag, or None if it has none."""
    extra = _extra(info)
    if FLAG in extra:
        flag = extra[FLAG]
        return flag if isinstance(flag, str) else None
    return "--" + name.replace("_", "-")


def env_of(model: type[BaseModel], name: str) -> str | None:
    """The environment variable of a field, or None if the model reads none for it."""
    prefix = cast(Mapping[str, object], model.model_config).get("env_prefix")
    info = model.model_fields[name]
    if not isinstance(prefix, str) or _extra(info).get(ENV, True) is False:
        return None
    return (prefix + name).upper()


def environ_key(name: str) -> str | None:
    """The variable of that name as the environment spells it (pydantic-settings ignores case)."""
    if name in os.environ:
        return name
    return next((key for key in os.environ if key.upper() == name), None)


def _flag_type(annotation: Any) -> tuple[Any, tuple[str, ...] | None]:
    """(argparse type, choices) of a field's annotation; `bool` means a --x/--no-x pair."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        if len(kinds) == 1:
            return _flag_type(kinds[0])
    elif origin is Literal:
        values = get_args(annotation)
        return type(values[0]), tuple(str(v) for v in values)
    elif annotation in (bool, str, int, float, Path):
        return annotation, None
    raise TypeError(f"no flag for a {annotation!r} setting: declare it with {{'flag': None}}")


def _help(model: type[BaseModel], name: str, info: FieldInfo, required: bool) -> str:
    notes = []
    default = info.get_default(call_default_factory=False)
    if not required and default not in (PydanticUndefined, None, ""):
        notes.append(f"default: {default}")
    env = env_of(model, name)
    if env and not required:
        notes.append(f"env {env}")
    text = info.description or name
    if notes:
        text += f" ({'; '.join(notes)})"
    return text.replace("%", "%%")


def add_flags(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    *,
    only: Collection[str] | None = None,
    exclude: Collection[str] = (),
    required: Collection[str] = (),
) -> None:
    """Add a flag for every field of `model` that has one (or only those named in `only`).

    A flag not given is None in the namespace, so a lower layer (environment, file,
    default) decides; `given_flags` collects the others."""
    fields = sorted(model.model_fields.items(), key=lambda item: item[0] not in required)
    for name, info in fields:  # the required ones first
        flag = flag_of(name, info)
        if flag is None or name in exclude or (only is not None and name not in only):
            continue
        kind, choices = _flag_type(info.annotation)
        must = name in required
        text = _help(model, name, info, must)
        if kind is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            parser.add_argument(
                flag,
                dest=name,
                type=kind,
                choices=choices,
                default=None,
                required=must,
                help=text,
                metavar=None if choices else name.rsplit("_", 1)[-1].upper(),
            )


def given_flags(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The settings given on the command line (the flags `add_flags` made and the user set)."""
    return {
        name: value
        for name in model.model_fields
        if (value := getattr(args, name, None)) is not None
    }


# --- errors that name the source, the key and the expectation -----------------------------


def refuse(message: str, message_zh: str) -> PydanticCustomError:
    """An error for a validator to raise, with its Chinese text for `settings_error`."""
    return PydanticCustomError("bilingual", "{en}", {"en": message, "zh": message_zh})


def key_path(loc: Sequence[int | str]) -> str:
    """``("workstations", "lane-1", "devices", 0)`` → ``workstations.lane-1.devices[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


#: pydantic error type → (English, Chinese) of what was expected; {ctx keys} are filled in.
EXPECTED: dict[str, tuple[str, str]] = {
    "int_parsing": ("expected a whole number", "应为整数"),
    "int_type": ("expected a whole number", "应为整数"),
    "int_from_float": ("expected a whole number", "应为整数"),
    "float_parsing": ("expected a number", "应为数字"),
    "float_type": ("expected a number", "应为数字"),
    "bool_parsing": ("expected true or false", "应为 true 或 false"),
    "bool_type": ("expected true or false", "应为 true 或 false"),
    "string_type": ("expected text", "应为文本"),
    "string_too_short": ("expected at least {min_length} character(s)", "至少 {min_length} 个字符"),
    "string_too_long": ("expected at most {max_length} characters", "最多 {max_length} 个字符"),
    "string_pattern_mismatch": ("expected text matching {pattern}", "格式应符合 {pattern}"),
    "literal_error": ("expected {expected}", "应为 {expected} 之一"),
    "greater_than": ("expected a value above {gt}", "应大于 {gt}"),
    "greater_than_equal": ("expected {ge} or more", "应不小于 {ge}"),
    "less_than": ("expected a value below {lt}", "应小于 {lt}"),
    "less_than_equal": ("expected {le} or less", "应不大于 {le}"),
    "dict_type": ("expected an object", "应为对象"),
    "model_type": ("expected an object", "应为对象"),
    "model_attributes_type": ("expected an object", "应为对象"),
    "list_type": ("expected a list", "应为列表"),
    "tuple_type": ("expected a list", "应为列表"),
    "path_type": ("expected a file path", "应为文件路径"),
    "missing": ("is missing: it is required", "缺少此项（必填）"),
    "extra_forbidden": ("is not a setting (a typo?)", "不是有效的设置项（拼写错误？）"),
}
_NO_INPUT = {"missing", "extra_forbidden", "bilingual"}  # (a refusal says the value itself)


def explain(error: ErrorDetails) -> tuple[str, str]:
    """What one validation error expected, in English and Chinese, with the value found."""
    kind, ctx = error["type"], dict(error.get("ctx") or {})
    if kind == "bilingual":
        en, zh = str(ctx["en"]), str(ctx["zh"])
    elif kind in EXPECTED:
        en, zh = (text.format(**ctx) for text in EXPECTED[kind])
        if kind == "literal_error":  # 'a', 'b' or 'c' → 'a'、'b'、'c'
            listed = str(ctx["expected"]).replace(" or ", "、").replace(", ", "、")
            zh = EXPECTED[kind][1].format(expected=listed)
    elif kind == "value_error":
        en = zh = str(ctx.get("error", error["msg"]))
    else:
        en = zh = error["msg"]
    value = error.get("input")
    if kind not in _NO_INPUT and not isinstance(value, dict | list) and value is not None:
        en, zh = f"{en}, got {value!r}", f"{zh}，实际为 {value!r}"
    return en, zh


def settings_error(exc: ValidationError, where: Where) -> ConfigurationError:
    """One ConfigurationError listing every bad setting: where it came from, what is expected."""
    en_lines, zh_lines = [], []
    for error in exc.errors(include_url=False):
        (where_en, where_zh), (expected_en, expected_zh) = where(error["loc"]), explain(error)
        en_lines.append(f"{where_en}: {expected_en}")
        zh_lines.append(f"{where_zh}：{expected_zh}")
    return ConfigurationError(
        "; ".join(en_lines) + " (correct it and try again)",
        message_zh="；".join(zh_lines) + "（请改正后重试）",
    )


def where_from(
    model: type[BaseModel], given: Mapping[str, object], file: Path | None = None
) -> Where:
    """Name a bad value's source by the precedence flag > environment > file > default.

    `given` are the keywords the model was built with (the command-line flags), `file` the
    settings file under them, if any."""

    def where(loc: Loc) -> tuple[str, str]:
        key, path = str(loc[0]) if loc else "", key_path(loc)
        info = model.model_fields.get(key)
        if key in given:
            label = (flag_of(key, info) if info else None) or path
            return label, label
        env = env_of(model, key) if info else None
        name = environ_key(env) if env else None
        if name:
            return f"environment variable {name}", f"环境变量 {name}"
        if file is not None:
            return f"{file}: {path}", f"{file} 中的 {path}"
        return path or "settings", path or "设置"

    return where


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise refuse(
            f"expected a time zone such as Asia/Shanghai, got {value!r}",
            f"应为时区名称，例如 Asia/Shanghai，实际为 {value!r}",
        ) from None
    return value


#: An IANA time zone name, checked when the settings are read (not when a page is shown).
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]


# --- the uplink: the node's and the hub's broker ------------------------------------------


class UplinkBroker(BaseModel):
    """The MQTT broker between the nodes and the hub, and the tenant's topics on it."""

    tenant: str = Field(
        default="demo",
        pattern=r"^[^/+#\s]+$",
        description="the company's name in the broker's topics (no '/', '+', '#' or spaces)",
    )
    broker_host: str = Field(
        default="127.0.0.1", description="the MQTT broker between nodes and hub"
    )
    broker_port: int = Field(default=1883, ge=1, le=65535, description="its port")
    broker_protocol: ProtocolName = Field(default="5", description="MQTT protocol version")
    # TLS with a client certificate per node (DESIGN §7); plain TCP when unset.
    broker_ca_file: str | None = Field(
        default=None, description="CA of the broker's TLS certificate (TLS when set)"
    )
    broker_cert_file: str | None = Field(
        default=None, description="this program's client certificate"
    )
    broker_key_file: str | None = Field(default=None, description="the key of that certificate")

    @property
    def broker(self) -> BrokerAddress:
        return BrokerAddress(
            self.broker_host,
            self.broker_port,
            self.broker_protocol,
            ca_file=self.broker_ca_file,
            cert_file=self.broker_cert_file,
            key_file=self.broker_key_file,
        )
