"""Who may talk to the app: it runs on people's laptops, next to their browser.

- Every request but the static assets needs the launch's token: `?token=` once (answered with
  an HttpOnly, SameSite=Strict cookie and a redirect that drops it from the address bar), the
  cookie, or an `X-Imclass-Token` header. Missing: 401; wrong: 403.
- The Host header must name the address the app listens on (or localhost / 127.0.0.1 on its
  port): a page on another site cannot reach it through DNS rebinding.
- A state-changing request whose Origin is another site's is refused (403).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from imclass.app.settings import AppSettings

TOKEN_HEADER = "X-Imclass-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC_PREFIXES = ("/static/",)  # the app's own HTML/CSS/JS: no data in them
ANY_ADDRESS = {"0.0.0.0", "::", ""}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_name(settings: AppSettings) -> str:
    """Cookies ignore ports: two apps on one machine each need their own name."""
    return f"imclass_token_{settings.port}"


def allowed_hosts(settings: AppSettings) -> set[str] | None:
    """The Host values a request may carry; None (any) when listening on every address, where
    the token alone guards the app."""
    if settings.host in ANY_ADDRESS:
        return None
    names = {settings.host, "localhost", "127.0.0.1", "[::1]"}
    if ":" in settings.host and not settings.host.startswith("["):
        names.add(f"[{settings.host}]")
    return {f"{name}:{settings.port}" for name in names}


class AccessGuard(BaseHTTPMiddleware):
    """Checks Host, token and (for writes) Origin before any route runs."""

    def __init__(self, app, settings: AppSettings):
        super().__init__(app)
        self.settings = settings
        self.hosts = allowed_hosts(settings)

    async def dispatch(self, request: Request, call_next) -> Response:
        host = request.headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            return _refuse(request, 403, f"Host {host!r} is not this app's address")
        if request.url.path.startswith(PUBLIC_PREFIXES):
            return await call_next(request)
        if request.method not in SAFE_METHODS and not self._same_origin(request, host):
            return _refuse(request, 403, "a write from another site's page")
        given = request.query_params.get("token")
        if given is not None and secrets.compare_digest(given, self.settings.token):
            return await self._remember(request, call_next)
        token = request.headers.get(TOKEN_HEADER) or request.cookies.get(cookie_name(self.settings))
        if token is None:
            return _refuse(request, 401, "no access token: open the URL `imclass app` printed")
        if not secrets.compare_digest(token, self.settings.token):
            return _refuse(request, 403, "wrong access token: open the URL `imclass app` printed")
        return await call_next(request)

    def _same_origin(self, request: Request, host: str) -> bool:
        origin = request.headers.get("origin")
        return origin is None or origin in (f"http://{host}", f"https://{host}")

    async def _remember(self, request: Request, call_next) -> Response:
        """The cookie with the answer; a page is answered with its address without the token,
        which so stays out of the browser's history."""
        if request.url.path.startswith("/api/"):
            response = await call_next(request)
        else:
            response = RedirectResponse(self._without_token(request), status_code=303)
        response.set_cookie(
            cookie_name(self.settings), self.settings.token, httponly=True, samesite="strict"
        )
        return response

    @staticmethod
    def _without_token(request: Request) -> str:
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        return request.url.path + (f"?{query}" if query else "")


def _refuse(request: Request, status: int, reason: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": reason}, status_code=status)
    return PlainTextResponse(f"{status}: {reason}\n", status_code=status)
