"""Request and response bodies for key management."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.api.types import WholeNumber
from gateway.keys.models import KeyKind
from gateway.origins import normalise_origin

# What ``normalise_origin`` accepts, declared: http(s) in any case, a host name or IPv4
# address, a port in range, nothing else but a trailing slash and surrounding spaces.
ORIGIN_PATTERN = (
    r"^ *[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?/? *$"
)
Origin = Annotated[
    str,
    Field(max_length=300, pattern=ORIGIN_PATTERN, examples=["https://shop.example"]),
    AfterValidator(normalise_origin),
]
PublishableScope = Literal["widget"]
SecretScope = Literal[
    "products:read",
    "products:write",
    "keys:write",
    "usage:read",
    "orders:write",
    "experiments:write",
]


class _NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)


class PublishableKeyIn(_NewKey):
    """A key for pages: the widget scope, from the origins listed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "publishable",
                    "name": "storefront",
                    "allowed_origins": ["https://shop.example"],
                }
            ]
        },
    )

    kind: Literal[KeyKind.PUBLISHABLE]
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    scopes: list[PublishableScope] | None = Field(
        default=None, max_length=20, description="Default: `widget`"
    )


class SecretKeyIn(_NewKey):
    """A key for servers: no origins; scopes the creating key holds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "secret", "name": "backend"}]},
    )

    kind: Literal[KeyKind.SECRET]
    scopes: list[SecretScope] | None = Field(
        default=None,
        max_length=20,
        description="Default: every secret scope the creating key holds (a key never grants "
        "more than its creator holds: 403)",
    )


KeyIn = Annotated[PublishableKeyIn | SecretKeyIn, Field(discriminator="kind")]


class KeyPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"allowed_origins": ["https://shop.example"]}]},
    )

    name: str | None = Field(default=None, min_length=1, max_length=100)
    allowed_origins: list[Origin] | None = Field(default=None, max_length=50)


class RotateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"grace_period_s": 86400}]}
    )

    grace_period_s: WholeNumber = Field(
        default=86_400,
        ge=0,
        le=30 * 86_400,
        description="How long the old key keeps working; 0 stops it at once",
    )


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: KeyKind
    name: str
    display_prefix: str = Field(description="The first characters, to recognise the key")
    scopes: list[str]
    allowed_origins: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, store it now")


class KeyList(BaseModel):
    data: list[KeyOut]


class RotatedKeyOut(BaseModel):
    new: NewKeyOut
    old: KeyOut
