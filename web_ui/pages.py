"""One URL, two renderings: a full page, or just its fragment for an htmx request.

The locale comes from `?lang=`, then the `lang` cookie, then Accept-Language
(zh-CN by default); choosing one with `?lang=` sets the cookie so it sticks.
"""

from __future__ import annotations

from typing import Annotated, Any

import jinja2
from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web_ui.i18n import negotiate_locale
from web_ui.rendering import locale_context

LANG_COOKIE = "lang"


class PageRenderer:
    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env

    def locale_of(self, request: Request) -> str:
        return negotiate_locale(
            request.query_params.get("lang"),
            request.cookies.get(LANG_COOKIE),
            request.headers.get("accept-language"),
        )

    def render(
        self,
        request: Request,
        page: str,
        context: dict[str, Any],
        *,
        fragment: str | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render `page`, or `fragment` when htmx asks (HX-Request) and one is given."""
        locale = self.locale_of(request)
        csrf = getattr(request.state, "csrf_token", None)
        full_context = {**locale_context(locale), **context}
        if csrf is not None:
            full_context["csrf_token"] = csrf
        principal = full_context.setdefault("principal", getattr(request.state, "principal", None))
        idle_lock_ms = getattr(request.app.state, "idle_lock_ms", None)
        if idle_lock_ms and getattr(principal, "kind", None) == "staff":
            full_context["idle_lock_ms"] = idle_lock_ms  # base.html's idle lock (a till's)
        is_htmx = request.headers.get("hx-request") == "true"
        template = fragment if (is_htmx and fragment) else page
        html = self.env.get_template(template).render(full_context)
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") == locale:
            response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
        return response


def _page_renderer(request: Request) -> PageRenderer:
    pages: PageRenderer = request.app.state.pages
    return pages


PagesDep = Annotated[PageRenderer, Depends(_page_renderer)]
"""The app's renderer (installed by `web_ui.mount.mount_web_ui`)."""
