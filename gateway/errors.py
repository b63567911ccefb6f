"""The gateway's exception tree, mapped once to RFC 9457 problem+json in ``gateway.problems``.

::

    GatewayError                       500 internal
    ├── BadRequest                     400 bad-request
    │   ├── EmptyBody                  400 empty-body
    │   └── InvalidInput               422 invalid-input
    │       ├── InvalidImage           422 invalid-image
    │       ├── NothingToTryOn         422 no-subject-found  (the photo has no face/body)
    │       ├── AssetRefused           422 asset-refused     (not a usable product image)
    │       ├── BadAnchors             422 bad-anchors       (anchors given with an asset)
    │       └── UnsafeURL              422 unsafe-url       (url: SSRF guard refused it)
    ├── Unauthorized                   401 unauthorized
    │   └── InvalidApiKey              401 invalid-api-key
    ├── Forbidden                      403 forbidden
    │   ├── KeyTypeNotAllowed          403 key-type-not-allowed
    │   ├── InsufficientScope          403 insufficient-scope
    │   └── OriginNotAllowed           403 origin-not-allowed
    ├── NotFound                       404 not-found
    ├── NotAcceptable                  406 not-acceptable
    ├── Conflict                       409 conflict
    ├── PayloadTooLarge                413 payload-too-large
    │   └── ImageTooLarge              413 image-too-large
    ├── UnsupportedMediaType           415 unsupported-media-type
    ├── TokenUnreadable                500 token-unreadable (a stored platform credential)
    ├── SyncFailed                     500 sync-failed      (a product could not be synced)
    ├── RateLimited                    429 rate-limited     (retry_after)
    │   └── QuotaExceeded              429 quota-exceeded   (retry_after: next month)
    └── ServiceUnavailable             503 unavailable      (retry_after)
        ├── DependencyUnavailable      503 dependency-unavailable (dependency)
        └── PlatformError              502 platform-error   (platform)
            ├── PlatformUnavailable    503 platform-unavailable (retry_after; retries exhausted)
            ├── PlatformRejected       502 platform-rejected (platform_status)
            │   └── PlatformAuthFailed 502 platform-auth-failed (the token was revoked)
            └── FetchFailed            502 fetch-failed     (reason: an image URL gave no image)

``PlatformError`` and its subclasses are what talking to a store platform (Shopify, ...) or
fetching a merchant's image can raise: they describe the platform's answer, not the caller's
request, so they are 5xx (502 when the platform answered wrongly, 503 when it did not answer).

Each class carries a stable ``slug`` (the problem ``type``), an HTTP ``status`` and a default
``title``; instances carry a human ``detail`` and optional extension members.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error the gateway turns into a problem response."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extensions = extensions


class BadRequest(GatewayError):
    status, slug, title = 400, "bad-request", "Bad request"


class EmptyBody(BadRequest):
    slug, title = "empty-body", "The request body is empty"


class InvalidInput(BadRequest):
    status, slug, title = 422, "invalid-input", "Invalid input"


class InvalidImage(InvalidInput):
    slug, title = "invalid-image", "The image cannot be used"


class NothingToTryOn(InvalidInput):
    slug, title = "no-subject-found", "No face or body to try the product on"


class AssetRefused(InvalidInput):
    slug, title = "asset-refused", "The product image cannot become a try-on asset"


class BadAnchors(InvalidInput):
    slug, title = "bad-anchors", "The anchors are not usable"


class Unauthorized(GatewayError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


class InvalidApiKey(Unauthorized):
    slug, title = "invalid-api-key", "Invalid API key"


class Forbidden(GatewayError):
    status, slug, title = 403, "forbidden", "Forbidden"


class KeyTypeNotAllowed(Forbidden):
    slug, title = "key-type-not-allowed", "This key type cannot call this endpoint"


class InsufficientScope(Forbidden):
    slug, title = "insufficient-scope", "The key lacks a required scope"


class OriginNotAllowed(Forbidden):
    slug, title = "origin-not-allowed", "Origin not allowed for this key"


class NotFound(GatewayError):
    status, slug, title = 404, "not-found", "Not found"


class NotAcceptable(GatewayError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class Conflict(GatewayError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(GatewayError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class ImageTooLarge(PayloadTooLarge):
    slug, title = "image-too-large", "The image is too large"


class UnsupportedMediaType(GatewayError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TokenUnreadable(GatewayError):
    """A stored platform token that our key cannot decrypt (altered, or another key's)."""

    slug, title = "token-unreadable", "A stored platform credential cannot be decrypted"


class SyncFailed(GatewayError):
    """One product of a catalog sync failed (the job retries it)."""

    slug, title = "sync-failed", "The product could not be synced"


class RateLimited(GatewayError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **ext: Any) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **ext
        )


class ServiceUnavailable(GatewayError):
    status, slug, title = 503, "unavailable", "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **ext: Any) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **ext
        )


class QuotaExceeded(RateLimited):
    slug, title = "quota-exceeded", "The monthly try-on quota is used up"


class DependencyUnavailable(ServiceUnavailable):
    slug, title = "dependency-unavailable", "A service the gateway depends on is unavailable"

    def __init__(self, dependency: str, detail: str | None = None, **ext: Any) -> None:
        super().__init__(detail or f"{dependency} is unavailable", dependency=dependency, **ext)


class UnsafeURL(InvalidInput):
    """A URL the SSRF guard refuses (scheme, address, port or redirect target)."""

    slug, title = "unsafe-url", "The URL is not allowed"


class PlatformError(ServiceUnavailable):
    """A store platform (or an image host it points to) failed us.

    ``platform`` names it (``"shopify"``, or the host for image fetches).
    """

    status, slug, title = 502, "platform-error", "The store platform failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        platform: str | None = None,
        retry_after: int = 30,
        **ext: Any,
    ) -> None:
        if platform is not None:
            ext["platform"] = platform
        super().__init__(detail, retry_after=retry_after, **ext)
        self.platform = platform


class PlatformUnavailable(PlatformError):
    """The platform did not answer usefully (timeouts, 5xx, 429) after every attempt."""

    status, slug, title = 503, "platform-unavailable", "The store platform is unavailable"


class PlatformRejected(PlatformError):
    """The platform answered our request with a 4xx (or GraphQL ``errors``).

    ``platform_status`` is the platform's HTTP status; ``response_body`` (an attribute, not
    part of the problem body) is the start of its answer for the caller to inspect, e.g. the
    OAuth ``error`` code.
    """

    slug, title = "platform-rejected", "The store platform rejected the request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        platform_status: int,
        response_body: str = "",
        **ext: Any,
    ) -> None:
        super().__init__(detail, platform_status=platform_status, **ext)
        self.platform_status = platform_status
        self.response_body = response_body


class PlatformAuthFailed(PlatformRejected):
    """401/403 from the platform: the access token is revoked, expired or lacks a scope."""

    slug, title = "platform-auth-failed", "The store platform refused our credentials"


class FetchFailed(PlatformError):
    """An image URL gave no usable image: ``reason`` is one of ``status``, ``too-large``,
    ``timeout``, ``content-type``, ``redirects``, ``network``."""

    slug, title = "fetch-failed", "The image could not be fetched"

    def __init__(self, detail: str | None = None, *, reason: str, **ext: Any) -> None:
        super().__init__(detail, reason=reason, **ext)
        self.reason = reason
