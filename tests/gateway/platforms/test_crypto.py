"""Platform credentials at rest: Fernet with an HKDF key from TRYON_SECRET_KEY."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.platforms import crypto
from gateway.settings import GatewaySettings


def test_round_trip_and_no_plaintext(make_settings: Callable[..., GatewaySettings]) -> None:
    settings = make_settings()
    sealed = crypto.encrypt(settings, "shpat_secret_token")
    assert "shpat" not in sealed
    assert crypto.encrypt(settings, "shpat_secret_token") != sealed  # random IV each time
    assert crypto.decrypt(settings, sealed) == "shpat_secret_token"


def test_another_secret_or_a_changed_byte_cannot_read_it(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    sealed = crypto.encrypt(make_settings(), "token")
    with pytest.raises(crypto.TokenUnreadable):
        crypto.decrypt(make_settings(secret_key="another-secret-" + "y" * 40), sealed)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(crypto.TokenUnreadable):
        crypto.decrypt(make_settings(), flipped)
    with pytest.raises(crypto.TokenUnreadable):
        crypto.decrypt(make_settings(), "not a token at all")


def test_the_key_is_derived_not_the_secret_itself(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    import base64

    from cryptography.fernet import Fernet, InvalidToken

    settings = make_settings()
    raw = settings.secret_key.get_secret_value().encode()[:32].ljust(32, b"0")
    naive = Fernet(base64.urlsafe_b64encode(raw))
    with pytest.raises(InvalidToken):
        naive.decrypt(crypto.encrypt(settings, "token"))
