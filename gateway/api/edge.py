"""Pure ASGI middleware at the edge: body size caps, security headers and widget CORS.

CORS for widget routes echoes exactly one origin, and only one a merchant allowed: on a
preflight (which carries no key) any active publishable key must allow it; on the request
itself the widget dependency checks the key's own origins and records the origin in the
request state, and only then does this middleware echo it. ``Vary: Origin`` always; never
credentials (widget calls carry the key in a header, not cookies).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.origins import normalise_origin

WIDGET_PREFIXES = ("/v1/widget/", "/v1/events")
UPLOAD_SUFFIXES = ("/tryon", "/analyze", "/assets", "/image")
UPLOAD_PREFIXES = ("/v1/models",)
CORS_ALLOW_HEADERS = "authorization, content-type, x-request-id, accept"
CORS_EXPOSE_HEADERS = "tryon-geometry, tryon-session, retry-after, x-request-id"
ORIGIN_STATE = "cors_origin"

OriginCheck = Callable[[str], Awaitable[bool]]


def is_widget_path(path: str) -> bool:
    return path.startswith(WIDGET_PREFIXES)


def is_webhook_path(path: str) -> bool:
    """A store platform's webhook route (``/platforms/{platform}/webhooks``)."""
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "platforms" and parts[3] == "webhooks"


def body_limit_for(path: str, *, upload: int, json_body: int, webhook: int | None = None) -> int:
    """The byte cap for a request body on ``path`` (images get more than JSON; platform
    webhooks, whose order bodies can be large, their own)."""
    if path.endswith(UPLOAD_SUFFIXES) or path.startswith(UPLOAD_PREFIXES):
        return upload
    if webhook is not None and is_webhook_path(path):
        return webhook
    return json_body


class BodyLimitMiddleware:
    """413 before reading a body that says (or turns out) to be larger than its route's cap."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_bytes: int,
        json_bytes: int,
        webhook_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.json_bytes = json_bytes
        self.webhook_bytes = webhook_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(
            scope["path"],
            upload=self.upload_bytes,
            json_body=self.json_bytes,
            webhook=self.webhook_bytes,
        )
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _problem(scope, send, 400, "bad-request", "Bad request", "Bad Content-Length")
                return
            if int(declared) > limit:
                await _problem(
                    scope,
                    send,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"The body is {declared} bytes; the limit here is {limit}",
                )
                return
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"The body is over the limit of {limit} bytes")
            return message

        await self.app(scope, capped_receive, send)


class SecurityHeadersMiddleware:
    """Headers every response gets; API responses are never cached and never framed."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if "frame-ancestors https:" not in headers.get("content-security-policy", ""):
                    # Pages that name who may frame them (Shopify's embedded admin page) say
                    # so in their CSP; X-Frame-Options cannot name an origin.
                    headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if not headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault(
                        "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
                    )
                if scope["path"].startswith("/v1/"):
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000")
            await send(message)

        await self.app(scope, receive, with_headers)


class WidgetCorsMiddleware:
    """CORS for widget routes: exact allowed origin echoed, ``Vary: Origin``, no credentials."""

    def __init__(self, app: ASGIApp, *, origin_is_known: OriginCheck) -> None:
        self.app = app
        self.origin_is_known = origin_is_known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_widget_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(scope, send, origin)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.add_vary_header("Origin")
                allowed = scope.get("state", {}).get(ORIGIN_STATE)
                if allowed and allowed == origin:
                    out["Access-Control-Allow-Origin"] = allowed
                    out["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, scope: Scope, send: Send, origin: str) -> None:
        try:
            known = await self.origin_is_known(normalise_origin(origin))
        except ValueError:
            known = False
        if not known:
            await _problem(
                scope,
                send,
                403,
                "origin-not-allowed",
                "Origin not allowed for this key",
                "No publishable key allows this origin",
                extra_headers={"Vary": "Origin"},
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def _problem(  # noqa: PLR0917 - mirrors problems.problem's positional order
    scope: Scope,
    send: Send,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    extra_headers: dict[str, str] | None = None,
) -> None:
    """A problem+json answer from middleware (before the app's handlers can run)."""
    body: dict[str, object] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope["path"],
    }
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    raw = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(raw)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra_headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
