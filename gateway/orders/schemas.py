"""Request and response bodies of ``POST /v1/orders``.

The limits are the warehouse's own (``analytics.schema.PurchaseProperties``), written so that
the OpenAPI document states every one of them: amounts are decimal strings (no float
rounding, no exponent, at most 14 digits before the point and 4 after), times are ISO 8601
strings with an offset, counts are JSON integers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from analytics.schema import CartToken, ExternalId, SessionId
from gateway.api.types import WholeNumber

# Under a billion, four decimals: a line (unit price times at most 10,000) then fits the
# warehouse's 64-bit ten-thousandths with room for rollups to add many of them up.
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$"
STORE_PATTERN = r"^(https?://)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?$"

Money = Annotated[
    str,
    Field(
        pattern=MONEY_PATTERN,
        max_length=14,
        description="A decimal string ≥ 0 and under 1,000,000,000 with at most 4 decimals, "
        'e.g. `"129.90"`',
    ),
]


def _text_time(value: object) -> object:
    """Only ISO 8601 strings: pydantic alone would also read a number as a Unix time."""
    if not isinstance(value, str):
        raise ValueError("a time is an ISO 8601 string with an offset")
    return value


OrderTime = Annotated[AwareDatetime, BeforeValidator(_text_time)]


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ExternalId = Field(
        description="The product's external id (the store's own id, as given to the widget "
        "in `data-tryon-product` and to `POST /v1/products`): try-on conversion per product "
        "joins on it"
    )
    variant_id: ExternalId | None = Field(default=None, description="The variant's external id")
    quantity: WholeNumber = Field(ge=1, le=10_000)
    price: Money = Field(description="Unit price in the order's currency")
    tryon_session_id: SessionId | None = Field(
        default=None,
        description="The line's `_tryon_session` line item property: the try-on session "
        "the line came from (null or absent when there was none)",
    )

    @property
    def unit_price(self) -> Decimal:
        return Decimal(self.price)


class OrderIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": "#1001",
                    "revenue": "129.90",
                    "currency": "EUR",
                    "widget_session_id": "4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b",
                    "store": "shop.example",
                    "lines": [
                        {
                            "product_id": "aviator-gold",
                            "variant_id": "aviator-gold-m",
                            "quantity": 1,
                            "price": "125.00",
                            "tryon_session_id": "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d",
                        }
                    ],
                }
            ]
        },
    )

    order_id: ExternalId = Field(
        description="The store's order id: an order is counted once per merchant and id, "
        "however many times it is posted"
    )
    occurred_at: OrderTime | None = Field(
        default=None,
        description="When the order was placed (default: now). Times in the future are taken "
        "as now; orders older than `TRYON_ANALYTICS_MAX_EVENT_AGE_HOURS` (7 days) are refused",
        json_schema_extra={"x-max-age-hours": 168},
    )
    revenue: Money = Field(description="The order total as the store reports it (after discounts)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. `EUR`")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    widget_session_id: SessionId | None = Field(
        default=None,
        description="The order's `_tryon_widget_session` cart attribute (null or absent when "
        "the cart had none)",
    )
    cart_token: CartToken | None = Field(
        default=None,
        description="The store's own cart id, for stores that cannot carry the two ids into "
        "their orders (see docs/attribution.md); explicit ids win",
    )
    store: str | None = Field(
        default=None,
        max_length=255,
        pattern=STORE_PATTERN,
        description="The shop the order comes from: a domain (`example.myshopify.com`) or "
        "an origin (`https://shop.example`)",
    )

    @property
    def total(self) -> Decimal:
        return Decimal(self.revenue)


class OrderAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "8d3c6f0e-2b1a-5c4d-9e8f-7a6b5c4d3e2f",
                    "order_id": "#1001",
                    "occurred_at": "2026-11-22T10:05:00Z",
                }
            ]
        }
    )

    event_id: uuid.UUID = Field(
        description="The purchase event's id: the same for every post of the same order"
    )
    order_id: str
    occurred_at: datetime = Field(description="The order time as recorded")
