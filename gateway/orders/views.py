"""Merchant API: ``POST /v1/orders`` (secret keys, scope ``orders:write``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from gateway.keys.deps import OrdersWrite
from gateway.orders import service
from gateway.orders.schemas import OrderAccepted, OrderIn

router = APIRouter(prefix="/v1/orders", tags=["merchant: orders"])


@router.post(
    "",
    response_model=OrderAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record an order (a purchase, attributed to try-on sessions)",
    description=(
        "The generic entry for orders from any platform or custom store: send each order "
        "once it is placed, with the ids the widget gave the cart (docs/attribution.md): "
        "the `_tryon_widget_session` cart attribute as `widget_session_id`, each line's "
        "`_tryon_session` property as its `tryon_session_id`. The order becomes one "
        "`purchase` event in the analytics pipeline (202: accepted, stored shortly after). "
        "Posting the same `order_id` again is harmless: same `event_id`, counted once (the "
        "first post's content is kept). Body: JSON, at most 256 KiB and 500 lines, unknown "
        "fields refused (422). 422 also for an order older than 7 days. 503 with "
        "Retry-After while the pipeline cannot take events. Session ids only join try-ons "
        "of the key's own merchant."
    ),
    responses={
        202: {
            "content": {
                "application/json": {
                    "example": {
                        "event_id": "8d3c6f0e-2b1a-5c4d-9e8f-7a6b5c4d3e2f",
                        "order_id": "#1001",
                        "occurred_at": "2026-11-22T10:05:00Z",
                    }
                }
            }
        }
    },
)
def create_order(request: Request, principal: OrdersWrite, body: OrderIn) -> OrderAccepted:
    event, recorded_at = service.record(
        request.app, merchant_id=principal.merchant_id, order=body, store=body.store
    )
    return OrderAccepted(
        event_id=event.event_id, order_id=event.properties.order_id, occurred_at=recorded_at
    )
