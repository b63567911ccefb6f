"""The analytics event schema, version 1.

Two layers:

* ``EventBatch`` / ``Event``: what a client sends (``POST /v1/events``) and what the gateway
  builds for server-side events. One model per event type, discriminated by ``type``, each
  with typed, length-capped ``properties`` and unknown fields rejected: there is no field in
  which an image, a face or an IP address could travel.
* ``EventRecord``: what travels through the queue to the warehouse: the event (its
  ``occurred_at`` corrected for the client's clock) plus what the server knows: merchant,
  store, source and time of receipt. Queue messages are ``EventRecord`` JSON.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
)

SCHEMA_VERSION = 1


def _no_number(value: object) -> object:
    if isinstance(value, int | float):  # bool included
        raise ValueError("a time is an RFC 3339 string with its offset, not a number")
    return value


ClientTime = Annotated[AwareDatetime, BeforeValidator(_no_number)]
"""A time a client sends: an RFC 3339 string with its offset, as the schema says
(``format: date-time``); never a number read as a Unix time."""

EVENT_TYPES = (
    "impression",
    "eligible",
    "open",
    "tryon_started",
    "tryon_rendered",
    "tryon_failed",
    "size_recommended",
    "add_to_cart",
    "purchase",
    "order_updated",
)
SERVER_ONLY_TYPES = frozenset({"purchase", "order_updated"})

Mode = Literal["live", "photo", "model"]
Category = Literal["eyewear", "hat", "earrings", "necklace", "top"]

SessionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
"""Random ids made by the widget or the gateway (a UUID fits); never personal data."""
ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A product or variant id as the store knows it (no control characters)."""
Label = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")]
Arm = Literal["treatment", "holdout"]
"""The experiment arm: ``treatment`` sees the try-on button, ``holdout`` does not."""
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
CartToken = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
"""The store's own id of the shopper's cart (BigCommerce ``cartId``): an attribution key."""
Money = Annotated[
    Decimal, Field(ge=0, lt=1_000_000_000, max_digits=13, decimal_places=4, allow_inf_nan=False)
]
"""Under a billion: a line of up to 10,000 units fits the warehouse's 64-bit ten-thousandths."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoProperties(_Strict):
    """Events without properties (``{}``)."""


class TryOnStartedProperties(_Strict):
    mode: Mode
    from_recommendation: StrictBool | None = None
    """The shopper opened this product from the widget's recommendations row."""


class TryOnRenderedProperties(_Strict):
    mode: Mode
    category: Category
    latency_ms: float = Field(ge=0, le=600_000, allow_inf_nan=False)
    """From the shopper's action to the first rendered result, as the client saw it."""
    from_recommendation: StrictBool | None = None


class TryOnFailedProperties(_Strict):
    reason: Slug
    """A machine-readable cause, e.g. ``no_face``, ``camera_denied``, ``quota``."""
    mode: Mode | None = None


class SizeRecommendedProperties(_Strict):
    size: Label
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)


class AddToCartProperties(_Strict):
    quantity: int = Field(default=1, ge=1, le=1000)
    size: Label | None = None
    """The size added (the shopper's choice)."""
    recommended_size: Label | None = None
    """The size the widget advised, when it showed advice."""
    advice_followed: StrictBool | None = None
    """Whether the size added is the advised one; absent when no advice was shown."""
    cart_token: CartToken | None = None
    """Set where the store cannot carry our ids into the order (docs/attribution.md)."""
    from_recommendation: StrictBool | None = None


class PurchaseLine(_Strict):
    product_id: ExternalId
    variant_id: ExternalId | None = None
    quantity: int = Field(ge=1, le=10_000)
    price: Money
    """Unit price in the order's currency."""
    tryon_session_id: SessionId | None = None
    """The ``_tryon_session`` line item property (see docs/attribution.md), when present."""


class PurchaseProperties(_Strict):
    order_id: ExternalId
    revenue: Money
    """The order total as the store reports it (after discounts; taxes as the store shows)."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: list[PurchaseLine] = Field(min_length=1, max_length=500)
    cart_token: CartToken | None = None
    """The cart the order came from (BigCommerce ``order.cart_id``): joins the order to the
    ``add_to_cart`` events that carried the same token, when it has no session ids itself."""


class ExperimentTag(_Strict):
    """Where a shopper stands in a holdout experiment (docs/analytics.md, "Holdout")."""

    id: uuid.UUID
    """The experiment (period) the shopper was assigned in."""
    arm: Arm
    shopper_id: SessionId
    """The browser's random first-party id for this store: the unit the experiment counts."""


class _EventBase(_Strict):
    schema_version: Literal[1]
    event_id: uuid.UUID
    occurred_at: ClientTime
    widget_session_id: SessionId
    tryon_session_id: SessionId | None = None
    product_id: ExternalId
    variant_id: ExternalId | None = None
    experiment: ExperimentTag | None = None
    """Sent only while the merchant runs a holdout experiment."""

    @field_validator("event_id")
    @classmethod
    def _not_nil(cls, value: uuid.UUID) -> uuid.UUID:
        if value.int == 0:
            raise ValueError("the nil UUID is not an event id")
        return value


class Impression(_EventBase):
    """The try-on button was shown on a product page."""

    type: Literal["impression"]
    properties: NoProperties = NoProperties()


class Eligible(_EventBase):
    """The try-on button would have been shown: sent in both arms of a holdout experiment
    (in the treatment arm beside the ``impression``), the experiment's denominator."""

    type: Literal["eligible"]
    properties: NoProperties = NoProperties()


class Open(_EventBase):
    """The shopper opened the widget."""

    type: Literal["open"]
    properties: NoProperties = NoProperties()


class TryOnStarted(_EventBase):
    type: Literal["tryon_started"]
    properties: TryOnStartedProperties


class TryOnRendered(_EventBase):
    type: Literal["tryon_rendered"]
    properties: TryOnRenderedProperties


class TryOnFailed(_EventBase):
    type: Literal["tryon_failed"]
    properties: TryOnFailedProperties


class SizeRecommended(_EventBase):
    type: Literal["size_recommended"]
    properties: SizeRecommendedProperties


class AddToCart(_EventBase):
    """The shopper added the product to the cart from the widget or its page."""

    type: Literal["add_to_cart"]
    properties: AddToCartProperties = AddToCartProperties()


class Purchase(_EventBase):
    """An order, built by the gateway from the store's order webhook (server-side only).

    ``widget_session_id`` is the order's ``_tryon_widget_session`` cart attribute when the
    order carries one; lines carry their ``_tryon_session`` property. ``product_id`` is unused
    (an order has lines) and may be null.
    """

    type: Literal["purchase"]
    widget_session_id: SessionId | None = None  # type: ignore[assignment]
    product_id: ExternalId | None = None  # type: ignore[assignment]
    properties: PurchaseProperties


class OrderUpdatedProperties(_Strict):
    order_id: ExternalId
    status: Literal["updated", "cancelled", "refunded"]
    refunded: Money | None = None
    """The total refunded so far, in the order's currency (a later, larger refund replaces it;
    the warehouse keeps the largest it saw)."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class OrderUpdated(_EventBase):
    """A store cancelled or refunded (part of) an order it reported as a ``purchase``
    (server-side only, from the platforms' order webhooks). The warehouse applies it to the
    order's row, whichever of the two arrives first; its event id is derived from the order,
    the status and the amount, so a webhook delivered twice is one update."""

    type: Literal["order_updated"]
    widget_session_id: SessionId | None = None  # type: ignore[assignment]
    product_id: ExternalId | None = None  # type: ignore[assignment]
    properties: OrderUpdatedProperties


Event = Annotated[
    Impression
    | Eligible
    | Open
    | TryOnStarted
    | TryOnRendered
    | TryOnFailed
    | SizeRecommended
    | AddToCart
    | Purchase
    | OrderUpdated,
    Field(discriminator="type"),
]

HARD_MAX_BATCH = 1000
"""A ceiling for any configuration; the gateway's limit is ``max_batch_events``."""


class EventBatch(_Strict):
    """The body of ``POST /v1/events``."""

    events: list[Event] = Field(min_length=1, max_length=HARD_MAX_BATCH)
    sent_at: ClientTime | None = None
    """The client's clock when it sent the batch; lets the server correct clock skew."""


class EventRecord(_Strict):
    """One event as queued for the warehouse: the event plus what the server knows."""

    record_version: Literal[1] = 1
    merchant_id: uuid.UUID
    store: str | None = Field(default=None, max_length=255)
    """The store the event came from: the widget's web origin, or the platform shop domain."""
    source: Literal["widget", "server"]
    received_at: AwareDatetime
    client_occurred_at: AwareDatetime
    """``occurred_at`` as the client sent it; ``event.occurred_at`` is the corrected time."""
    event: Event

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> EventRecord:
        return cls.model_validate_json(body)
