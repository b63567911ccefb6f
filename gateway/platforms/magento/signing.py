"""The signature on the module's order posts (``POST /platforms/magento/orders``).

Magento Open Source sends no webhooks, so the module's observer posts each placed order
itself (``plugins/magento/Model/Signer.php``), signed with the integration's consumer secret,
which the gateway received at activation:

- ``X-Tryon-Magento-Shop``: the store (its base URL's host, as at activation);
- ``X-Tryon-Magento-Consumer``: the integration's consumer key;
- ``X-Tryon-Magento-Timestamp``: Unix seconds; more than ``TOLERANCE`` away from now is
  refused (a replay after that; inside it, a replay is the same delivery and changes nothing);
- ``X-Tryon-Magento-Signature``: ``v1=`` and the base64 HMAC-SHA256, keyed by the consumer
  secret, of ``{timestamp}.{shop}.{consumer key}.{raw body}``.

The vector in ``plugins/magento/Test/Fixtures/signature-vector.json`` is checked by both the
PHPUnit suite (the PHP signer) and pytest (this module).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from gateway.errors import Unauthorized

SHOP_HEADER = "x-tryon-magento-shop"
CONSUMER_HEADER = "x-tryon-magento-consumer"
TIMESTAMP_HEADER = "x-tryon-magento-timestamp"
SIGNATURE_HEADER = "x-tryon-magento-signature"
TOLERANCE = timedelta(minutes=5)
VERSION = "v1"


def signature(secret: str, *, timestamp: str, shop: str, consumer_key: str, body: bytes) -> str:
    """``v1=<base64 HMAC-SHA256>`` of a post (see the module doc)."""
    message = f"{timestamp}.{shop}.{consumer_key}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return f"{VERSION}={base64.b64encode(digest).decode()}"


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    shop: str,
    consumer_key: str,
    now: datetime,
) -> datetime:
    """Check a post's headers (lower-cased) in constant time; the time it was signed.

    ``Unauthorized`` for a missing, malformed, stale or wrong signature, or one made for
    another store or consumer."""
    given_key = headers.get(CONSUMER_HEADER, "")
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(
        given_key.encode("ascii", "replace"), consumer_key.encode("ascii", "replace")
    ):
        raise Unauthorized("The post is signed for another integration")
    if not stamp.isdigit() or len(stamp) > 12:
        raise Unauthorized("The post has no valid timestamp")
    signed_at = datetime.fromtimestamp(int(stamp), tz=UTC)
    if abs(now - signed_at) > TOLERANCE:
        raise Unauthorized("The post's timestamp is too old or in the future")
    expected = signature(secret, timestamp=stamp, shop=shop, consumer_key=consumer_key, body=body)
    if len(given) > 200 or not hmac.compare_digest(
        expected.encode(), given.strip().encode("ascii", "replace")
    ):
        raise Unauthorized("The post's signature is wrong")
    return signed_at
