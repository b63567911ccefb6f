"""Platform credentials at rest: Fernet with a key derived from ``TRYON_SECRET_KEY`` (HKDF).

The derived key is bound to a purpose label, so the same secret never serves two uses (cookie
signing elsewhere uses the secret itself). Placeholder secrets are already refused by the
settings outside development. Rotating ``TRYON_SECRET_KEY`` makes stored tokens unreadable:
``decrypt`` raises ``TokenUnreadable`` and the store needs reinstalling (documented in
docs/architecture.md).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import TokenUnreadable

__all__ = ["TokenUnreadable", "decrypt", "decrypt_optional", "encrypt", "encrypt_optional"]
from gateway.settings import GatewaySettings

_INFO = b"tryon platform credentials v1"
_SALT = b"tryon.platforms"


@functools.lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(settings: GatewaySettings, plaintext: str) -> str:
    """Fernet ciphertext (authenticated, timestamped) of ``plaintext`` as ASCII text."""
    return _fernet(settings.secret_key.get_secret_value()).encrypt(plaintext.encode()).decode()


def decrypt(settings: GatewaySettings, ciphertext: str) -> str:
    """The plaintext of ``ciphertext``; ``TokenUnreadable`` when it was not ours or was altered."""
    try:
        return _fernet(settings.secret_key.get_secret_value()).decrypt(ciphertext).decode()
    except (InvalidToken, ValueError):
        raise TokenUnreadable() from None


def encrypt_optional(settings: GatewaySettings, plaintext: str | None) -> str | None:
    return None if plaintext is None else encrypt(settings, plaintext)


def decrypt_optional(settings: GatewaySettings, ciphertext: str | None) -> str | None:
    return None if ciphertext is None else decrypt(settings, ciphertext)
