"""A WooCommerce store's URL: the merchant chose it, so it is hostile input until checked.

A store is named by its normalised URL (``https://shop.example`` or
``http://shop.example:8080/wp`` for WordPress in a folder): that is the ``shop`` of its
installation and the base of every REST call. ``normalise`` refuses what is not an http(s)
URL of a public name; the SSRF check proper (resolve, refuse private, loopback and metadata
addresses, pin the address) runs on every outbound call (``PlatformClient`` with
``untrusted_host``) and once at connect time (``from_settings``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gateway.errors import FetchFailed, InvalidInput
from gateway.platforms import safefetch
from gateway.settings import GatewaySettings

MAX_LENGTH = 200
"""The store URL is the shop's name (255 characters in ``stores``) and goes into URLs."""
_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


def normalise(raw: str, *, allow_http: bool) -> str:
    """``raw`` as the store's name: lower-case scheme and host, no default port, no trailing
    slash, no credentials, query or fragment. ``InvalidInput`` for anything else.

    ``allow_http``: plain http stores (local development); production asks for https, the
    only scheme over which WooCommerce takes the keys as HTTP Basic credentials."""
    text = raw.strip()
    if not text or len(text) > MAX_LENGTH or not text.isprintable() or " " in text:
        raise InvalidInput("store_url must be the store's address, e.g. https://shop.example")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput("store_url cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or (scheme == "http" and not allow_http):
        raise InvalidInput("store_url must start with https://")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("store_url must not carry credentials")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise InvalidInput("store_url must not have a query or fragment")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise InvalidInput("store_url has no host")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput("store_url's host is not a valid name") from None
    if not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", ascii_host) and ":" not in ascii_host:
        raise InvalidInput("store_url's host is not a valid name")
    path = parts.path.rstrip("/")
    if not _PATH.fullmatch(path):
        raise InvalidInput("store_url's path may only hold letters, digits and . _ ~ -")
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    default = 443 if scheme == "https" else 80
    if port is not None and port != default:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{path}"


def allow_http(settings: GatewaySettings) -> bool:
    """Plain http stores are for development and tests (WooCommerce's local installs)."""
    return settings.env in {"development", "test"}


def from_settings(settings: GatewaySettings, raw: str) -> str:
    """``normalise`` with the scheme rule of ``settings``; then the SSRF rules of every later
    call (``UnsafeURL``, 422) on the store's address: DNS too, unless the test base URL sends
    every call to a fake (then the name is never looked up)."""
    url = normalise(raw, allow_http=allow_http(settings))
    try:
        safefetch.vet_url(
            url + "/",
            resolve=not settings.platform_api_base_url,
            timeout_s=settings.platform_timeout_s,
        )
    except FetchFailed:
        raise InvalidInput("store_url's host does not resolve") from None
    return url


def origin(url: str) -> str:
    """The store's origin (``scheme://host[:port]``), as orders and the widget key name it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
