"""Session tokens as Shopify admin makes them, for tests (HS256 with the app secret)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-" + "0123456789abcdef" * 4


def session_token(
    shop: str,
    *,
    api_key: str = API_KEY,
    secret: str = API_SECRET,
    now: float | None = None,
    algorithm: str = "HS256",
    key: Any = None,
    **overrides: Any,
) -> str:
    now = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": "42",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key if key is not None else secret, algorithm=algorithm)
