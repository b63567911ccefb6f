"""Running a job: a webhook's domain events, a sync, a webhook subscription.

Every handler is idempotent: a job may run twice (its worker died after the work and before
marking it done), and platforms send the same change in several deliveries.

- ``OrderChanged`` -> a purchase through ``gateway.orders.service.record`` (the path of
  ``POST /v1/orders``; its event id is derived from the order id, so twice is once); a
  cancellation or refund also emits an ``order_updated`` event (its id derived from order,
  status and amount) that the warehouse applies to the purchase.
- ``ProductChanged`` -> fetch that product again and apply it; ``ProductDeleted`` -> delete
  ours with its assets and blobs.
- ``AppUninstalled`` -> give the token back (best effort), erase the tokens, revoke the widget
  key (the read cache is invalidated on commit: the widget stops at once).
- ``ShopRedact`` / ``CustomerRedact`` / ``CustomerDataRequest``: ``gateway.platforms.redaction``.
- A ``PULL_ORDERS`` job: ``gateway.platforms.pulls`` (platforms without order webhooks).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine

from analytics.errors import InvalidEvents
from gateway.db.session import session_scope
from gateway.errors import InvalidInput
from gateway.events import service as events
from gateway.orders import service as orders
from gateway.platforms import installs, intake, pulls, redaction, registry, sync
from gateway.platforms.http import PlatformClient
from gateway.platforms.jobs import Claimed
from gateway.platforms.models import JobKind
from gateway.platforms.protocol import (
    AppUninstalled,
    Connection,
    CustomerDataRequest,
    CustomerRedact,
    DomainEvent,
    OrderChanged,
    OrderFetcher,
    OrderReference,
    OrderStatus,
    PlatformAdapter,
    ProductChanged,
    ProductDeleted,
    ShopRedact,
)
from gateway.settings import GatewaySettings
from gateway.stores.models import Platform, Store, StoreStatus

log = structlog.get_logger("gateway.platforms.handlers")

REFRESH_BEFORE = timedelta(minutes=5)


@dataclass
class JobContext:
    """What jobs run with; built once per worker."""

    settings: GatewaySettings
    engine: Engine
    deps: sync.SyncDeps
    adapter_for: Callable[[Platform], PlatformAdapter]
    client: PlatformClient
    """Shared by every platform's jobs; adapters are given ``client_for`` their platform."""
    app: FastAPI | None = None
    """For server-side analytics events (orders); None where there is no pipeline."""
    warehouse: Callable[[], Engine | None] = lambda: None
    clock: Callable[[], datetime] = lambda: datetime.now().astimezone()

    def client_for(self, platform: Platform) -> PlatformClient:
        """The shared client, naming ``platform`` in its logs and errors."""
        return self.client.for_platform(platform)


def fresh_connection(ctx: JobContext, store_id: uuid.UUID) -> Connection:
    """The store's connection, refreshing expiring tokens first (saved encrypted)."""
    with session_scope(ctx.engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        tokens = installs.tokens_of(settings=ctx.settings, store=store)
        connection = installs.connection_for(settings=ctx.settings, store=store)
        due = tokens.expires_at is not None and tokens.expires_at - REFRESH_BEFORE <= ctx.clock()
        if not due or tokens.refresh_token is None:
            return connection
        adapter = ctx.adapter_for(store.platform)
        renewed = adapter.refresh(
            client=ctx.client_for(store.platform), connection=connection, tokens=tokens
        )
        installs.save_tokens(session=session, settings=ctx.settings, store=store, tokens=renewed)
        return installs.connection_for(settings=ctx.settings, store=store)


def run(ctx: JobContext, job: Claimed) -> dict[str, Any] | None:
    """Run one claimed job; raising means "retry later". Returns a result to keep, if any."""
    if job.store_id is None:
        return None
    with session_scope(ctx.engine) as session:
        store = session.get(Store, job.store_id)
        if store is None:
            return None
        platform, status = store.platform, store.status
    if job.kind is JobKind.WEBHOOK:
        delivery = intake.payload_to_delivery(job.payload)
        adapter = ctx.adapter_for(platform)
        result: dict[str, Any] = {}
        for event in adapter.parse_webhook(delivery):
            outcome = handle(ctx, store_id=job.store_id, event=event, delivery_shop=delivery.shop)
            if outcome:
                result.update(outcome)
        return result or None
    if status is not StoreStatus.ACTIVE:
        return None  # a sync or subscription for a store that left meanwhile: nothing to do
    adapter = ctx.adapter_for(platform)
    if job.kind is JobKind.ENSURE_WEBHOOKS:
        adapter.ensure_webhooks(
            client=ctx.client_for(platform),
            connection=fresh_connection(ctx, job.store_id),
            callback_url=installs.webhook_callback_url(ctx.settings, platform),
        )
        return None
    fresh_connection(ctx, job.store_id)
    if job.kind is JobKind.SYNC_STORE:
        done = sync.sync_store(
            engine=ctx.engine,
            store_id=job.store_id,
            adapter=adapter,
            client=ctx.client_for(platform),
            settings=ctx.settings,
            deps=ctx.deps,
            clock=ctx.clock,
        )
        return {"sync": done.counts()}
    if job.kind is JobKind.SYNC_PRODUCT:
        sync.sync_product(
            engine=ctx.engine,
            store_id=job.store_id,
            external_id=str(job.payload["external_id"]),
            adapter=adapter,
            client=ctx.client_for(platform),
            settings=ctx.settings,
            deps=ctx.deps,
            clock=ctx.clock,
        )
        return None
    if job.kind is JobKind.PULL_ORDERS:
        return pulls.run(
            engine=ctx.engine,
            job_id=job.id,
            platform=platform,
            store_id=job.store_id,
            payload=job.payload,
            adapter=adapter,
            client=ctx.client_for(platform),
            connection=fresh_connection(ctx, job.store_id),
            now=ctx.clock(),
            interval_s=ctx.settings.platform_order_pull_interval_s,
        )
    raise ValueError(f"unknown job kind {job.kind!r}")


def handle(
    ctx: JobContext, *, store_id: uuid.UUID, event: DomainEvent, delivery_shop: str
) -> dict[str, Any] | None:
    """Apply one domain event of a verified delivery for the store (idempotently)."""
    now = ctx.clock()
    match event:
        case OrderChanged():
            _order(ctx, store_id=store_id, event=event, shop=delivery_shop)
        case OrderReference(external_id=external_id):
            _order_reference(ctx, store_id=store_id, external_id=external_id, shop=delivery_shop)
        case ProductChanged(external_id=external_id):
            with session_scope(ctx.engine) as session:
                store = installs.get_store(session=session, store_id=store_id)
                active = store.status is StoreStatus.ACTIVE
            if active:
                fresh_connection(ctx, store_id)
                sync.sync_product(
                    engine=ctx.engine,
                    store_id=store_id,
                    external_id=external_id,
                    adapter=ctx.adapter_for(store.platform),
                    client=ctx.client_for(store.platform),
                    settings=ctx.settings,
                    deps=ctx.deps,
                    clock=ctx.clock,
                )
        case ProductDeleted(external_id=external_id):
            sync.delete_external(
                engine=ctx.engine,
                store_id=store_id,
                external_id=external_id,
                storage=ctx.deps.storage,
            )
        case AppUninstalled():
            _uninstall(ctx, store_id=store_id, now=now)
        case ShopRedact():
            with session_scope(ctx.engine) as session:
                store = installs.get_store(session=session, store_id=store_id)
                counts = redaction.redact_shop(
                    session=session,
                    storage=ctx.deps.storage,
                    store=store,
                    warehouse=ctx.warehouse(),
                    now=now,
                )
            return {"redacted": counts}
        case CustomerRedact(order_ids=order_ids):
            with session_scope(ctx.engine) as session:
                store = installs.get_store(session=session, store_id=store_id)
                merchant_id = store.merchant_id
                evidence = registry.erase_evidence(
                    session=session, store=store, order_ids=order_ids
                )
            counts = redaction.redact_customer(
                warehouse=ctx.warehouse(), merchant_id=merchant_id, order_ids=order_ids
            )
            counts = {**counts, "attribution_evidence": evidence}
            return {"customer_redacted": counts}
        case CustomerDataRequest(order_ids=order_ids, request_ref=request_ref):
            merchant_id = _merchant_of(ctx, store_id)
            report = redaction.customer_report(
                warehouse=ctx.warehouse(), merchant_id=merchant_id, order_ids=order_ids
            )
            return {"data_request": {**report, "request_ref": request_ref}}
    return None


def _merchant_of(ctx: JobContext, store_id: uuid.UUID) -> uuid.UUID:
    with session_scope(ctx.engine) as session:
        return installs.get_store(session=session, store_id=store_id).merchant_id


def _uninstall(ctx: JobContext, *, store_id: uuid.UUID, now: datetime) -> None:
    with session_scope(ctx.engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        if store.access_token_encrypted is not None:
            try:
                connection = installs.connection_for(settings=ctx.settings, store=store)
                ctx.adapter_for(store.platform).revoke(
                    client=ctx.client_for(store.platform), connection=connection
                )
            except Exception as exc:  # best effort: the token dies with the app
                log.info(
                    "platforms.revoke_failed", store_id=str(store_id), error=type(exc).__name__
                )
        installs.mark_uninstalled(session=session, store=store, now=now)


def _order_reference(ctx: JobContext, *, store_id: uuid.UUID, external_id: str, shop: str) -> None:
    """A light order webhook: fetch the order (active stores only), then as ``OrderChanged``."""
    with session_scope(ctx.engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        active, platform = store.status is StoreStatus.ACTIVE, store.platform
    adapter = ctx.adapter_for(platform)
    if not active or not isinstance(adapter, OrderFetcher):
        return
    event = adapter.fetch_order(
        client=ctx.client_for(platform),
        connection=fresh_connection(ctx, store_id),
        external_id=external_id,
    )
    if event is not None:
        _order(ctx, store_id=store_id, event=event, shop=shop)


def _order(ctx: JobContext, *, store_id: uuid.UUID, event: OrderChanged, shop: str) -> None:
    with session_scope(ctx.engine) as session:
        store = installs.get_store(session=session, store_id=store_id)
        merchant_id, redacted = store.merchant_id, store.status is StoreStatus.REDACTED
        if redacted or ctx.app is None:
            return
        # The platform's second signal (Shopify's web pixel) fills ids the order lacks.
        order = registry.enrich_order(
            session=session, store=store, order=event.order, now=ctx.clock()
        )
    # Only a placed or changed order is a purchase: a cancellation or refund whose order we
    # never saw must not become one (a refund's body carries the refund, not the order's total).
    if event.status in (OrderStatus.CREATED, OrderStatus.UPDATED):
        try:
            orders.record(
                ctx.app, merchant_id=merchant_id, order=order, store=shop, now=ctx.clock()
            )
        except InvalidInput as exc:
            # Older than the pipeline takes, or not a valid purchase: retrying cannot help.
            log.info("platforms.order_skipped", store_id=str(store_id), reason=exc.detail[:200])
            return
    if event.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) or event.refunded:
        update = events.order_update(
            merchant_id=merchant_id,
            order_id=event.order.order_id,
            status=event.status.value,
            refunded=event.refunded,
            currency=event.order.currency,
            occurred_at=ctx.clock(),
        )
        try:
            events.emit(ctx.app, merchant_id=merchant_id, events=[update], store=shop)
        except InvalidEvents as exc:
            log.info(
                "platforms.order_update_skipped", store_id=str(store_id), reason=str(exc)[:200]
            )
