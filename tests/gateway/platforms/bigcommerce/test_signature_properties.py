"""Properties (hypothesis): a freshly signed BigCommerce payload verifies and any change to
it does not, for the legacy ``signed_payload`` and Standard Webhooks hook signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import Unauthorized
from gateway.platforms.bigcommerce import signed
from gateway.platforms.bigcommerce.adapter import standard_signature, verify_standard

SECRET = "property-secret-" + "p" * 32
NOW = 1_765_000_000.0


def _legacy(data: dict[str, object]) -> str:
    raw = json.dumps(data).encode()
    mac = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest().encode()
    return base64.b64encode(raw).decode() + "." + base64.b64encode(mac).decode()


store_hashes = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(store_hash=store_hashes, user=st.integers(1, 10**9), flip=st.integers(0, 10**6))
def test_a_legacy_payload_verifies_and_any_flipped_byte_does_not(
    store_hash: str, user: int, flip: int
) -> None:
    payload = _legacy(
        {"store_hash": store_hash, "user": {"id": user}, "owner": {"id": 1}, "timestamp": NOW}
    )
    assert signed.verify_legacy(payload, client_secret=SECRET, now=NOW).store_hash == store_hash
    data, _, mac = payload.partition(".")
    raw = bytearray(base64.b64decode(data))
    raw[flip % len(raw)] ^= 1 << (flip % 8)
    tampered = base64.b64encode(bytes(raw)).decode() + "." + mac
    with pytest.raises(signed.InvalidSignedPayload):
        signed.verify_legacy(tampered, client_secret=SECRET, now=NOW)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), flip=st.integers(0, 10**6))
def test_a_standard_webhooks_signature_verifies_and_any_flipped_byte_does_not(
    body: bytes, flip: int
) -> None:
    now = datetime.fromtimestamp(NOW, tz=UTC)
    stamp = str(int(NOW))
    signature = standard_signature(SECRET.encode(), msg_id="msg_1", timestamp=stamp, body=body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }
    assert verify_standard(SECRET.encode(), headers=headers, body=body, now=now) == "msg_1"
    changed = bytearray(body)
    changed[flip % len(changed)] ^= 1 << (flip % 8)
    with pytest.raises(Unauthorized):
        verify_standard(SECRET.encode(), headers=headers, body=bytes(changed), now=now)
