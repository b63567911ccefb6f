"""Request and response bodies for key management."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from gateway.keys.models import KeyKind
from gateway.origins import normalise_origin

Origin = Annotated[str, Field(max_length=300), AfterValidator(normalise_origin)]


class KeyIn(BaseModel):
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

    kind: KeyKind
    name: str = Field(default="default", min_length=1, max_length=100)
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    scopes: list[str] | None = Field(
        default=None,
        max_length=20,
        description=(
            "Default: every scope of the key's kind that the creating key holds "
            "(publishable keys: `widget`)"
        ),
    )


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

    grace_period_s: StrictInt = Field(
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
