"""The one outbound HTTP client for store platforms, and the test base URL convention.

Every call an adapter makes to a platform goes through ``PlatformClient``:

- a timeout on every attempt (``TRYON_PLATFORM_TIMEOUT_S``);
- retries on 429, 5xx and connection failures, with capped exponential backoff and jitter,
  honouring ``Retry-After``, at most ``TRYON_PLATFORM_MAX_ATTEMPTS`` attempts; never on other
  4xx (401/403 raise ``PlatformAuthFailed``, the rest ``PlatformRejected``);
- Shopify's GraphQL cost throttle (``extensions.cost``): waits for the leaky bucket to hold
  a query's cost, and on ``THROTTLED`` errors waits what ``restoreRate`` says and asks again;
- logs name the method, host, path, status and attempt, never a header, query string or
  body (tokens travel in all three);
- the test base URL: with ``TRYON_PLATFORM_API_BASE_URL`` set (refused in production)
  ``https://HOST/PATH?Q`` is sent to ``{base}/HOST/PATH?Q`` (``platform_url``), so tests and
  local walkthroughs talk to a fake platform on loopback;
- ``untrusted_host=True`` for calls to a host the merchant chose (a WooCommerce store's URL,
  a Magento store's base URL): the URL is vetted as the image fetcher vets one
  (``safefetch.vet_url``: no private, loopback or metadata address) and the connection goes
  to the vetted address with the name in ``Host`` and SNI, so DNS cannot swap another in;
  under the test base URL only the fake on loopback is reached, and the merchant's URL is
  still checked, all but its DNS answer (``resolver`` lets tests give that answer);
- the platform a call is for names it in logs and errors: ``from_settings(settings,
  platform=...)`` in a platform's views, ``for_platform`` on a client shared by all (the
  worker's).
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import json as jsonlib
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import structlog

from gateway.errors import PlatformAuthFailed, PlatformRejected, PlatformUnavailable
from gateway.platforms import safefetch

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_BODY_EXCERPT = 500


def platform_url(settings: GatewaySettings, url: str) -> str:
    """``url`` as it must be reached: unchanged, or under the test base URL when one is set.

    ``https://some-shop.myshopify.com/admin/oauth/authorize?client_id=x`` becomes
    ``{base}/some-shop.myshopify.com/admin/oauth/authorize?client_id=x``. Use it for every
    URL sent to a platform and every redirect of a merchant's browser to a platform page.
    """
    return rewrite_url(settings.platform_api_base_url, url)


def rewrite_url(base_url: str | None, url: str) -> str:
    """``platform_url`` with the base given directly (``None``: no rewrite)."""
    if not base_url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an absolute http(s) URL: {parts.scheme}://{parts.netloc}")
    query = f"?{parts.query}" if parts.query else ""
    return f"{base_url.rstrip('/')}/{parts.netloc}{parts.path or '/'}{query}"


@dataclass
class _Bucket:
    """What the platform last said about a shop's GraphQL cost bucket."""

    available: float
    maximum: float
    restore_rate: float
    at: float


class PlatformClient:
    """Timeouts, retries, throttling and the test base URL for calls to store platforms.

    Build it with ``from_settings``; tests pass an ``httpx.MockTransport`` as ``transport`` and
    a recording ``sleep`` (and ``clock``, ``jitter``) so that no test really waits.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        max_throttle_waits: int = 5,
        max_wait_s: float = 120.0,
        platform: str | None = None,
        resolver: safefetch.Resolver | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.base_url = base_url.rstrip("/") if base_url else None
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.max_retry_after_s = max_retry_after_s
        self.max_throttle_waits = max_throttle_waits
        self.max_wait_s = max_wait_s
        """What one ``request`` may spend sleeping between attempts, all waits together."""
        self.platform = str(platform) if platform is not None else None
        """The platform named in logs and errors (``for_platform`` gives a labelled view)."""
        self.resolver = resolver
        """How ``untrusted_host`` calls resolve names (tests pass a stub; default: the system's)."""
        self._buckets: dict[str, _Bucket] = {}
        self._costs: dict[tuple[str, str], float] = {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        platform: str | None = None,
    ) -> PlatformClient:
        """The client the settings describe (timeout, attempts, test base URL), for
        ``platform`` (a platform's views), or unlabelled for one shared by every platform (the
        worker's: its jobs use ``for_platform``)."""
        if settings.platform_api_base_url and settings.env == "production":
            # GatewaySettings refuses this already; settings built by hand must not slip by.
            raise ValueError("TRYON_PLATFORM_API_BASE_URL is refused when TRYON_ENV=production")
        return cls(
            timeout_s=settings.platform_timeout_s,
            max_attempts=settings.platform_max_attempts,
            base_url=settings.platform_api_base_url,
            transport=transport,
            sleep=sleep,
            platform=platform,
        )

    def for_platform(self, platform: str) -> PlatformClient:
        """This client naming ``platform`` in its logs and errors: the same connection pool,
        settings and GraphQL cost buckets (close the client it came from, not this view)."""
        labelled = copy.copy(self)
        labelled.platform = str(platform)
        return labelled

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        untrusted_host: bool = False,
    ) -> httpx.Response:
        """Send one call, retrying what may be retried; the 2xx response.

        ``url`` is the platform's real ``https://`` URL (the test base URL is applied here).
        Retries 429/5xx and connection failures (and, for idempotent calls, read timeouts:
        ``idempotent`` defaults to the method's nature). Raises ``PlatformAuthFailed`` on
        401/403, ``PlatformRejected`` on other non-2xx answers that are not retried, and
        ``PlatformUnavailable`` when the attempts run out.

        ``untrusted_host``: the host was chosen by a merchant (a WooCommerce or Magento
        store's URL), not by a platform: ``url`` is vetted by ``safefetch.vet_url``
        (``UnsafeURL`` for a private, loopback or metadata address, ``FetchFailed`` when the
        name does not resolve) and the connection goes to the address vetted, so a second DNS
        answer cannot swap it. Under the test base URL the call goes to the fake and the
        URL is checked without DNS.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        pinned = None
        if untrusted_host:
            # The merchant's own URL is vetted first, under the test base URL too (all but DNS).
            pinned = safefetch.vet_url(
                url, resolver=self.resolver, resolve=self.base_url is None, timeout_s=self.timeout_s
            )
        target = rewrite_url(self.base_url, url)
        send_headers = dict(headers or {})
        extensions: dict[str, Any] = {}
        if pinned is not None and self.base_url is None:
            target = pinned.url
            send_headers["Host"] = pinned.host_header
            if pinned.sni:
                extensions["sni_hostname"] = pinned.sni
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        retry_after = 0.0
        waited = 0.0
        last = "no attempt"
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                if waited + retry_after > self.max_wait_s:
                    # A caller waiting on this (an OAuth callback) must not hang for minutes.
                    raise PlatformUnavailable(
                        f"{method} {host}{path}: {last}, no time left to try again",
                        platform=self.platform,
                        retry_after=max(1, math.ceil(retry_after)),
                    )
                self._sleep(retry_after)
                waited += retry_after
            try:
                response = self._http.request(
                    method,
                    target,
                    headers=send_headers,
                    json=json,
                    data=data,
                    params=params,
                    extensions=extensions or None,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last = type(exc).__name__
                self._log(
                    method=method, host=host, path=path, status=None, attempt=attempt, error=last
                )
                retry_after = self._backoff(attempt)
                continue
            except httpx.RequestError as exc:
                # Read timeouts, broken connections, undecodable bodies: the request may have
                # reached the platform, so only an idempotent call may go again.
                last = type(exc).__name__
                self._log(
                    method=method, host=host, path=path, status=None, attempt=attempt, error=last
                )
                if not idempotent:
                    raise PlatformUnavailable(
                        f"{method} {host}{path}: {last}", platform=self.platform
                    ) from None
                retry_after = self._backoff(attempt)
                continue
            status = response.status_code
            self._log(method=method, host=host, path=path, status=status, attempt=attempt)
            if 200 <= status < 300:
                return response
            if status in RETRY_STATUSES:
                last = f"HTTP {status}"
                hinted = _parse_retry_after(response.headers.get("retry-after"))
                if hinted is None:
                    # BigCommerce says when its rate-limit window resets, in milliseconds.
                    hinted = _parse_reset_ms(response.headers.get("x-rate-limit-time-reset-ms"))
                if hinted is not None and hinted > self.max_retry_after_s:
                    raise PlatformUnavailable(
                        f"{method} {host}{path}: HTTP {status}, retry after {hinted:.0f} s",
                        platform=self.platform,
                        retry_after=math.ceil(hinted),
                    )
                retry_after = hinted if hinted is not None else self._backoff(attempt)
                continue
            excerpt = response.text[:MAX_BODY_EXCERPT]
            error = PlatformAuthFailed if status in {401, 403} else PlatformRejected
            raise error(
                f"{method} {host}{path}: HTTP {status}",
                platform=self.platform,
                platform_status=status,
                response_body=excerpt,
            )
        raise PlatformUnavailable(
            f"{method} {host}{path}: {last} after {self.max_attempts} attempts",
            platform=self.platform,
            retry_after=max(1, math.ceil(retry_after)),
        )

    def graphql(
        self,
        url: str,
        *,
        query: str,
        variables: Mapping[str, Any] | None = None,
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        """Run a GraphQL query or mutation; its ``data``.

        Waits before sending when the shop's cost bucket (as last reported) cannot hold what
        this query cost last time, and on ``THROTTLED`` errors waits until ``restoreRate``
        refills the bucket, at most ``max_throttle_waits`` times (then ``PlatformUnavailable``).
        Other GraphQL ``errors`` raise ``PlatformRejected`` (``platform_status`` is the HTTP
        status, ``codes`` the errors' ``extensions.code``).
        """
        host = urlsplit(url).hostname or ""
        is_mutation = query.lstrip().startswith("mutation")
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        send_headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
        for throttled in range(self.max_throttle_waits + 1):
            self._wait_for_bucket(host, query)
            response = self.request(
                "POST", url, headers=send_headers, json=body, idempotent=not is_mutation
            )
            try:
                answer = response.json()
            except ValueError:
                raise PlatformRejected(
                    f"POST {host}: the GraphQL answer is not JSON",
                    platform=self.platform,
                    platform_status=response.status_code,
                ) from None
            if not isinstance(answer, dict):
                raise PlatformRejected(
                    f"POST {host}: the GraphQL answer is not an object",
                    platform=self.platform,
                    platform_status=response.status_code,
                )
            cost = _cost(answer)
            self._note_cost(host, query, cost)
            errors = answer.get("errors")
            if errors:
                codes = _error_codes(errors)
                if "THROTTLED" in codes:
                    if throttled >= self.max_throttle_waits:
                        break
                    self._sleep(self._throttle_wait(cost))
                    continue
                messages = "; ".join(_error_messages(errors))[:MAX_BODY_EXCERPT]
                raise PlatformRejected(
                    f"GraphQL errors from {host}: {messages}",
                    platform=self.platform,
                    platform_status=response.status_code,
                    response_body=response.text[:MAX_BODY_EXCERPT],
                    codes=sorted(codes),
                )
            data = answer.get("data")
            if not isinstance(data, dict):
                raise PlatformRejected(
                    f"POST {host}: the GraphQL answer has no data",
                    platform=self.platform,
                    platform_status=response.status_code,
                )
            return data
        raise PlatformUnavailable(
            f"GraphQL on {host}: still throttled after {self.max_throttle_waits} waits",
            platform=self.platform,
        )

    def _backoff(self, attempt: int) -> float:
        """Equal jitter: half the capped exponential step, plus up to the other half."""
        step = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        return float(step / 2 + self._jitter() * step / 2)

    def _log(
        self,
        *,
        method: str,
        host: str,
        path: str,
        status: int | None,
        attempt: int,
        error: str | None = None,
    ) -> None:
        log.info(
            "platform.request",
            platform=self.platform,
            method=method,
            host=host,
            path=path,
            status=status,
            attempt=attempt,
            error=error,
        )

    def _note_cost(self, host: str, query: str, cost: Mapping[str, Any] | None) -> None:
        if not cost:
            return
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._buckets[host] = _Bucket(
                    available=float(status["currentlyAvailable"]),
                    maximum=float(status["maximumAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    at=self._clock(),
                )
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._costs[(host, query)] = float(requested)

    def _wait_for_bucket(self, host: str, query: str) -> None:
        bucket = self._buckets.get(host)
        needed = self._costs.get((host, query))
        if bucket is None or needed is None or bucket.restore_rate <= 0:
            return
        needed = min(needed, bucket.maximum)
        now = self._clock()
        available = min(bucket.maximum, bucket.available + (now - bucket.at) * bucket.restore_rate)
        if available < needed:
            # A point more than the deficit: the platform's own arithmetic must not leave
            # the bucket a hair short (then the query is throttled after all).
            wait = (needed - available + 1) / bucket.restore_rate
            log.info("platform.throttle_wait", platform=self.platform, host=host, wait_s=wait)
            self._sleep(wait)

    def _throttle_wait(self, cost: Mapping[str, Any] | None) -> float:
        """Until the bucket holds the query's cost and a point more (1 s when not told)."""
        status = cost.get("throttleStatus") if cost else None
        requested = cost.get("requestedQueryCost") if cost else None
        try:
            assert isinstance(status, dict)
            rate = float(status["restoreRate"])
            available = float(status["currentlyAvailable"])
            needed = float(requested) if isinstance(requested, int | float) else 1.0
        except (AssertionError, KeyError, TypeError, ValueError):
            return 1.0
        if rate <= 0:
            return self.backoff_cap_s
        return min(self.backoff_cap_s * 2, (max(0.0, needed - available) + 1) / rate)


def _cost(answer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extensions = answer.get("extensions")
    if isinstance(extensions, dict):
        cost = extensions.get("cost")
        if isinstance(cost, dict):
            return cost
    return None


def _error_codes(errors: Any) -> set[str]:
    codes: set[str] = set()
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
                code = error["extensions"].get("code")
                if isinstance(code, str):
                    codes.add(code)
    return codes


def _error_messages(errors: Any) -> list[str]:
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, list):
        return [
            str(e.get("message", "")) if isinstance(e, dict) else jsonlib.dumps(e) for e in errors
        ]
    return [jsonlib.dumps(errors)]


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number (Shopify sends ``2.0``) or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _parse_reset_ms(value: str | None) -> float | None:
    """Seconds from BigCommerce's ``X-Rate-Limit-Time-Reset-Ms`` (milliseconds), or None."""
    if not value or not value.strip().isdigit() or len(value.strip()) > 9:
        return None
    return int(value.strip()) / 1000.0
