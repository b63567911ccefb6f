"""OAuth 1.0a as Magento's integrations speak it, signed HMAC-SHA256 with authlib.

PLATFORMS.md (Magento): the app POSTs ``{base}/oauth/token/request`` signed with the
consumer key and secret (no token) and gets a request token; then ``{base}/oauth/token/access``
signed with the request token and the ``oauth_verifier`` Magento posted at activation, and
gets the access token and its secret (they do not expire). REST calls are signed with the
consumer and the access token. The signature: base string ``METHOD&enc(url)&enc(sorted
params)`` (query parameters included, so ``searchCriteria[...]`` travels percent-encoded and
is signed as decoded), key ``enc(consumer_secret)&enc(token_secret)``, base64 HMAC-SHA256.

authlib builds the base string and the ``Authorization`` header; its client ships HMAC-SHA1,
so ``_MagentoAuth`` adds HMAC-SHA256 on a subclass (the class table is not changed for
anyone else). The requests go through ``PlatformClient`` with ``untrusted_host=True``: the
store's base URL is the merchant's, so every call is vetted against SSRF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from authlib.common.encoding import to_bytes
from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape

from gateway.errors import BadRequest
from gateway.platforms.http import PlatformClient

SIGNATURE_METHOD = "HMAC-SHA256"
REQUEST_TOKEN_PATH = "/oauth/token/request"  # noqa: S105 - a path
ACCESS_TOKEN_PATH = "/oauth/token/access"  # noqa: S105 - a path
MAX_TOKEN_ANSWER = 4096


def hmac_sha256_signature(base_string: str, client_secret: str, token_secret: str) -> str:
    """RFC 5849 section 3.4.2 with SHA-256 in place of SHA-1 (what Magento signs with)."""
    key = f"{escape(client_secret or '')}&{escape(token_secret or '')}"
    digest = hmac.new(to_bytes(key), to_bytes(base_string), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _sign_hmac_sha256(client: Any, request: Any) -> str:
    return hmac_sha256_signature(
        generate_signature_base_string(request), client.client_secret, client.token_secret
    )


class _MagentoAuth(ClientAuth):  # type: ignore[misc]
    SIGNATURE_METHODS: ClassVar[dict[str, Any]] = {
        **ClientAuth.SIGNATURE_METHODS,
        SIGNATURE_METHOD: _sign_hmac_sha256,
    }


@dataclass(frozen=True)
class Credentials:
    """The integration's consumer, and a token (request or access) once there is one."""

    consumer_key: str
    consumer_secret: str
    token: str | None = None
    token_secret: str | None = None


def authorization(
    credentials: Credentials,
    method: str,
    url: str,
    *,
    verifier: str | None = None,
    callback: str | None = None,
) -> str:
    """The ``Authorization: OAuth ...`` header of a call to ``url`` (query included).

    ``callback`` is ``oob`` on the request token call: RFC 5849 requires ``oauth_callback``
    there, and ``oob`` (out of band) is what Magento records for integration tokens."""
    auth = _MagentoAuth(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        token=credentials.token,
        token_secret=credentials.token_secret,
        verifier=verifier,
        redirect_uri=callback,
        signature_method=SIGNATURE_METHOD,
    )
    _, headers, _ = auth.prepare(method.upper(), url, {}, b"")
    header: str = headers["Authorization"]
    return header


def _token_pair(body: bytes) -> tuple[str, str]:
    if len(body) > MAX_TOKEN_ANSWER:
        raise BadRequest("Magento's token answer is too long")
    try:
        fields = dict(parse_qsl(body.decode("ascii"), strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Magento's token answer is not form-encoded") from None
    token, secret = fields.get("oauth_token"), fields.get("oauth_token_secret")
    if not token or not secret or len(token) > 128 or len(secret) > 128:
        raise BadRequest("Magento's token answer has no token")
    return token, secret


def _post(client: PlatformClient, url: str, header: str) -> bytes:
    response = client.request(
        "POST",
        url,
        headers={"Authorization": header, "Accept": "application/x-www-form-urlencoded"},
        untrusted_host=True,
        idempotent=False,
    )
    return response.content


def request_token(client: PlatformClient, base_url: str, credentials: Credentials) -> Credentials:
    """``POST /oauth/token/request`` signed by the consumer: the request token."""
    url = base_url.rstrip("/") + REQUEST_TOKEN_PATH
    header = authorization(credentials, "POST", url, callback="oob")
    token, secret = _token_pair(_post(client, url, header))
    return Credentials(credentials.consumer_key, credentials.consumer_secret, token, secret)


def access_token(
    client: PlatformClient, base_url: str, requested: Credentials, *, verifier: str
) -> Credentials:
    """``POST /oauth/token/access`` signed with the request token and the verifier."""
    url = base_url.rstrip("/") + ACCESS_TOKEN_PATH
    header = authorization(requested, "POST", url, verifier=verifier)
    token, secret = _token_pair(_post(client, url, header))
    return Credentials(requested.consumer_key, requested.consumer_secret, token, secret)


def rest_headers(credentials: Credentials, method: str, url: str) -> Mapping[str, str]:
    """Headers of a signed REST call (JSON answers)."""
    return {
        "Authorization": authorization(credentials, method, url),
        "Accept": "application/json",
    }
