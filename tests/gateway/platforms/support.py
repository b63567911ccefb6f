"""A small in-test platform (the core's tests do not depend on any real platform's code).

``FakeAdapter`` speaks a made-up platform registered as ``Platform.CUSTOM``: webhooks are
signed with base64 HMAC-SHA256 of the raw body (``x-fake-hmac``), carry a delivery id, shop,
topic and trigger time in headers, and its catalog lives in a dict. A test router mounts
``POST /platforms/custom/webhooks`` the way a platform package mounts its own route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient

from gateway.api.deps import SessionDep, SettingsDep
from gateway.db.base import utcnow
from gateway.errors import BadRequest, Unauthorized
from gateway.main import create_app
from gateway.orders.schemas import OrderIn
from gateway.platforms import intake, registry
from gateway.platforms.context import build_context
from gateway.platforms.http import PlatformClient
from gateway.platforms.protocol import (
    AppUninstalled,
    CatalogPage,
    CatalogProduct,
    CatalogVariant,
    Connection,
    CustomerDataRequest,
    CustomerRedact,
    DomainEvent,
    OrderChanged,
    OrderStatus,
    ProductChanged,
    ProductDeleted,
    ShopRedact,
    Tokens,
    WebhookDelivery,
)
from gateway.platforms.worker import Worker
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform
from tests.gateway.tryon_support import demo_product_image

SECRET = "fake-platform-secret"
SHOP = "tiny-shop.example"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class FakeCatalog:
    products: dict[str, CatalogProduct] = field(default_factory=dict)
    page_size: int = 2
    revoked: list[str] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    pages_fetched: int = 0

    def add(
        self,
        external_id: str,
        *,
        title: str = "",
        product_type: str = "Sunglasses",
        tags: tuple[str, ...] = (),
        image: str | None = "https://cdn.example/glasses-round-black.png",
        variants: tuple[CatalogVariant, ...] | None = None,
    ) -> CatalogProduct:
        product = CatalogProduct(
            external_id=external_id,
            title=title or f"Product {external_id}",
            product_type=product_type,
            tags=tags,
            images=(image,) if image else (),
            variants=variants
            if variants is not None
            else (
                CatalogVariant(
                    external_id=f"{external_id}-v1",
                    title="Black / M",
                    sku=f"SKU-{external_id}",
                    options={"Color": "Black", "Size": "M"},
                    price="129.90",
                ),
            ),
        )
        self.products[external_id] = product
        return product


class FakeAdapter:
    platform = Platform.CUSTOM

    def __init__(self, catalog: FakeCatalog) -> None:
        self.catalog = catalog

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookDelivery:
        given = headers.get("x-fake-hmac", "")
        if not hmac.compare_digest(given.encode(), sign(body).encode()):
            raise Unauthorized("bad webhook signature")
        try:
            payload = json.loads(body)
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise BadRequest("the body is not a JSON object")
        triggered = headers.get("x-fake-triggered-at")
        return WebhookDelivery(
            delivery_id=headers.get("x-fake-delivery", ""),
            shop=headers.get("x-fake-shop", ""),
            topic=headers.get("x-fake-topic", ""),
            payload=payload,
            occurred_at=datetime.fromisoformat(triggered) if triggered else None,
        )

    def parse_webhook(self, delivery: WebhookDelivery) -> list[DomainEvent]:
        p = delivery.payload
        match delivery.topic:
            case "products/update":
                return [ProductChanged(external_id=str(p["id"]))]
            case "products/delete":
                return [ProductDeleted(external_id=str(p["id"]))]
            case "orders/create" | "orders/cancelled" | "refunds/create":
                status = {
                    "orders/create": OrderStatus.CREATED,
                    "orders/cancelled": OrderStatus.CANCELLED,
                    "refunds/create": OrderStatus.REFUNDED,
                }[delivery.topic]
                return [
                    OrderChanged(
                        status=status,
                        order=OrderIn.model_validate(p["order"]),
                        refunded=Decimal(p["refunded"]) if p.get("refunded") else None,
                    )
                ]
            case "app/uninstalled":
                return [AppUninstalled()]
            case "shop/redact":
                return [ShopRedact()]
            case "customers/redact":
                return [
                    CustomerRedact(customer_ref=str(p["customer"]), order_ids=tuple(p["orders"]))
                ]
            case "customers/data_request":
                return [
                    CustomerDataRequest(
                        customer_ref=str(p["customer"]),
                        order_ids=tuple(p["orders"]),
                        request_ref=str(p.get("request", "")),
                    )
                ]
            case "explode":
                raise RuntimeError("the handler failed")
        return []

    def fetch_catalog_page(
        self, *, client: PlatformClient, connection: Connection, cursor: str | None
    ) -> CatalogPage:
        assert connection.access_token == "fake-access-token"
        self.catalog.pages_fetched += 1
        ids = sorted(self.catalog.products)
        start = int(cursor or 0)
        chunk = ids[start : start + self.catalog.page_size]
        nxt = start + self.catalog.page_size
        return CatalogPage(
            products=[self.catalog.products[i] for i in chunk],
            next_cursor=str(nxt) if nxt < len(ids) else None,
        )

    def fetch_product(
        self, *, client: PlatformClient, connection: Connection, external_id: str
    ) -> CatalogProduct | None:
        return self.catalog.products.get(external_id)

    def ensure_webhooks(
        self, *, client: PlatformClient, connection: Connection, callback_url: str
    ) -> None:
        if callback_url not in self.catalog.subscribed:
            self.catalog.subscribed.append(callback_url)

    def refresh(self, *, client: PlatformClient, connection: Connection, tokens: Tokens) -> Tokens:
        return tokens

    def revoke(self, *, client: PlatformClient, connection: Connection) -> None:
        self.catalog.revoked.append(connection.access_token)


def webhook_router(adapter_of: Any) -> APIRouter:
    router = APIRouter()

    @router.post("/platforms/custom/webhooks")
    async def receive(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
        body = await intake.read_body(request, max_bytes=settings.platform_webhook_max_bytes)
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(
            lambda: intake.receive(
                session=session,
                settings=settings,
                adapter=adapter_of(settings),
                headers=dict(request.headers),
                body=body,
                now=utcnow(),
            )
        )
        return Response(status_code=200)

    return router


IMAGES = {
    "https://cdn.example/glasses-round-black.png": demo_product_image("glasses-round-black"),
    "https://cdn.example/glasses-round-gold.png": demo_product_image("glasses-round-gold"),
}


@dataclass
class Harness:
    client: TestClient
    app: FastAPI
    catalog: FakeCatalog
    worker: Worker
    fetched: list[str]

    def deliver(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        shop: str = SHOP,
        delivery_id: str | None = None,
        signature: str | None = None,
        triggered_at: datetime | None = None,
        body: bytes | None = None,
    ) -> Any:
        raw = body if body is not None else json.dumps(payload).encode()
        return self.client.post(
            "/platforms/custom/webhooks",
            content=raw,
            headers={
                "content-type": "application/json",
                "x-fake-hmac": signature if signature is not None else sign(raw),
                "x-fake-delivery": delivery_id or str(uuid.uuid4()),
                "x-fake-shop": shop,
                "x-fake-topic": topic,
                "x-fake-triggered-at": (triggered_at or datetime.now(UTC)).isoformat(),
            },
        )

    def run_jobs(self) -> int:
        return self.worker.run_until_idle()


_LOCK = threading.Lock()


@contextmanager
def harness(settings: GatewaySettings) -> Iterator[Harness]:
    """An app with the fake platform registered, its worker driven by the test."""
    catalog = FakeCatalog()
    fetched: list[str] = []

    def fetch_image(url: str) -> bytes:
        fetched.append(url)
        if url not in IMAGES:
            raise BadRequest(f"no such image {url}")
        return IMAGES[url]

    factory = lambda _settings: FakeAdapter(catalog)  # noqa: E731
    with _LOCK:
        registry.register(factory, platform=Platform.CUSTOM)
    app = create_app(settings.model_copy(update={"platform_worker": False}))
    app.include_router(webhook_router(factory))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            ctx = build_context(
                settings=app.state.settings,
                engine=app.state.engine,
                runtime=app.state.runtime,
                app=app,
                fetch_image=fetch_image,
            )
            yield Harness(client, app, catalog, Worker(ctx), fetched)
            ctx.client.close()
    finally:
        registry.unregister(Platform.CUSTOM)
        app.state.engine.dispose()
