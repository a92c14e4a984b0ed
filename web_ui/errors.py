"""Errors become HTTP responses here, and only here.

The apps raise errors from one documented tree (`sync_protocol.errors`, `domain.errors`);
this module imports neither (web_ui imports nothing of ours), so the mapping names the
classes: the first name met walking an error's class hierarchy decides its status.

The HTTP layer's own refusals answer in the same shape (`ErrorOut`), English and Chinese:

    422  a field fails validation (wrong type, out of bounds, unknown field, bad JSON):
         `validation_error_body` names every bad field, never echoes the input
    413  a request body over the app's limit (`BodyLimitMiddleware`)
    400  a body that cannot be read at all (not UTF-8)
    404 / 405  no such route / method (Starlette's own `HTTPException`s)

`error_responses(...)` documents these in a route's OpenAPI `responses=`.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATUS_BY_ERROR: Final[dict[str, int]] = {
    "NotFound": 404,
    "Conflict": 409,
    "BusinessRuleError": 422,
    "SyncError": 400,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "NodeNotReady": 503,
    "StorageFull": 507,
}

MAX_BODY_BYTES: Final = 1 << 20  # 1 MiB: a 500-line sale is ~50 KB
MAX_REPORTED_FIELDS: Final = 10
_MAX_DETAIL_CHARS: Final = 200


class ErrorOut(BaseModel):
    """What every error answer looks like (documented in each app's OpenAPI)."""

    error: str = Field(description="the kind of error, e.g. NotFound, RequestValidationError")
    message: str = Field(description="what happened and what to do, in English")
    message_zh: str = Field(description="the same in Chinese, for staff")
    fields: list[str] | None = Field(
        default=None,
        description="the request fields at fault, e.g. lines[0].qty (validation errors only)",
    )


def status_of(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls.__name__)
        if status is not None:
            return status
    return 500


def error_body(exc: BaseException) -> dict[str, str]:
    message = str(getattr(exc, "message", None) or exc)
    return {
        "error": type(exc).__name__,
        "message": message,
        "message_zh": str(getattr(exc, "message_zh", None) or message),
    }


# --- documentation ---------------------------------------------------------------------

_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "the body cannot be read (not UTF-8), or a sync message is malformed",
    401: "no valid login, token or signed proof came with the request",
    403: "the one who asked may not do this",
    404: "the item, node or record named does not exist",
    409: "the request clashes with what is recorded (an idempotency key reused)",
    413: f"the request body is over {MAX_BODY_BYTES} bytes",
    422: "a field is missing, of the wrong type, out of bounds or unknown, or a business "
    "rule refuses the request; `fields` names the bad fields",
    503: "the node may not write yet (restored from a backup, replaying its own ops); retry",
    507: "the disk is full: nothing of this write was stored (rolled back); free disk "
    "space or tell the administrator, then retry",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route that can answer these error statuses."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


# --- validation errors (422) -----------------------------------------------------------

# Chinese for pydantic's error types; `{…}` are filled from the error's ctx (the bounds
# of the schema, never the input). A validator that raises a `PydanticCustomError` with
# `message_zh` in its context gives its own Chinese.
_ZH_BY_TYPE: Final[dict[str, str]] = {
    "missing": "缺少此项",
    "extra_forbidden": "不是可接受的字段",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "整数过大",
    "string_type": "应为文本",
    "string_unicode": "不是有效的文本",
    "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "含有不允许的字符",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "json_invalid": "不是有效的 JSON",
    "finite_number": "应为有限的数字",
}


def _where(loc: Sequence[str | int]) -> str:
    """('body', 'lines', 0, 'qty') → 'lines[0].qty'; ('query', 'limit') → 'query.limit'."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
        if not parts or (isinstance(parts[0], int) and len(parts) == 1):
            return "body"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text[:_MAX_DETAIL_CHARS] or "body"


def _clip(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_DETAIL_CHARS else text[:_MAX_DETAIL_CHARS] + "…"


def _zh(error: Mapping[str, Any]) -> str:
    ctx = {k: _clip(v) for k, v in (error.get("ctx") or {}).items()}
    if "message_zh" in ctx:  # a validator of ours said it in Chinese itself
        return ctx["message_zh"]
    template = _ZH_BY_TYPE.get(str(error.get("type")), "值无效")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("（")[0].split("：")[0]


def _en(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"not valid JSON ({_clip(reason)})" if reason else "not valid JSON"
    return _clip(error.get("msg") or "invalid value")


def validation_error_body(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """422 body for pydantic/FastAPI validation errors: each bad field with what is
    wrong with it, in both languages. The input is never echoed (it may be huge, not
    JSON-encodable like NaN, or hostile)."""
    problems = list(errors)
    fields: list[str] = []
    en: list[str] = []
    zh: list[str] = []
    for error in problems[:MAX_REPORTED_FIELDS]:
        where = _where(error.get("loc") or ())
        fields.append(where)
        en.append(f"{where}: {_en(error)}")
        zh.append(f"{where}：{_zh(error)}")
    more = len(problems) - MAX_REPORTED_FIELDS
    if more > 0:
        en.append(f"and {more} more")
        zh.append(f"另有 {more} 处")
    return {
        "error": "RequestValidationError",
        "message": "Invalid request: " + "; ".join(en) + ". Correct these fields and retry.",
        "message_zh": "请求无效：" + "；".join(zh) + "。请更正后重试。",
        "fields": fields,
    }


# --- Starlette's own refusals (400, 404, 405, 413 …) ------------------------------------

_HTTP_ZH: Final[dict[int, str]] = {
    400: "请求无法读取",
    404: "没有这个页面或资源",
    405: "不支持此请求方法",
    413: f"请求内容过大（最多 {MAX_BODY_BYTES} 字节）",
}


def http_error_body(exc: HTTPException) -> dict[str, str]:
    """An `HTTPException` (raised by Starlette/FastAPI, not by us) in the ErrorOut shape."""
    if isinstance(exc, BodyTooLarge):
        return body_too_large_body(exc.limit)
    code = exc.status_code
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = f"HTTP {code}"
    if code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return {
            "error": "BodyNotUtf8",
            "message": "The request body is not UTF-8 encoded JSON; send UTF-8.",
            "message_zh": "请求内容不是 UTF-8 编码的 JSON，请使用 UTF-8 编码。",
        }
    if code == 400 and isinstance(exc.__cause__, RecursionError | ValueError):
        # json.loads gave up: arrays nested thousands deep, or a number of thousands of digits
        return {
            "error": "BodyNotParsed",
            "message": "The request body could not be read as JSON (nested too deeply, or a "
            "number too long); send the fields as documented.",
            "message_zh": "请求内容无法解析为 JSON（嵌套过深或数字过长），请按文档发送字段。",
        }
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    return {
        "error": phrase.title().replace(" ", "").replace("-", ""),
        "message": _clip(f"{phrase}: {message}" if message else phrase),
        "message_zh": _HTTP_ZH.get(code, f"请求未被接受（{code}）"),
    }


# --- the body-size limit (413) ---------------------------------------------------------


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes")
        self.limit = limit


def body_too_large_body(limit: int) -> dict[str, str]:
    return {
        "error": "ContentTooLarge",
        "message": f"The request body is over {limit} bytes; send less.",
        "message_zh": f"请求内容过大（最多 {limit} 字节）。",
    }


class BodyLimitMiddleware:
    """Refuse a request body over `limit` bytes with 413 before anything reads it
    (declared Content-Length), or as soon as the bytes received pass it (chunked)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Raised while a middleware (not a route) read the body: answer here.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            body_too_large_body(self.limit), status_code=413, headers={"Connection": "close"}
        )
        await response(scope, receive, send)
