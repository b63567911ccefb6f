"""The monthly quota is reserved atomically before the work and given back when it fails, on
SQLite and PostgreSQL: concurrent try-ons never take more than the limit (issue 11, item 3)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.db.session import session_scope
from gateway.errors import QuotaExceeded
from gateway.limits import quota
from gateway.merchants.models import Merchant
from gateway.usage import service as usage
from tests.gateway.conftest import assert_problem, auth, merchant_in, widget
from tests.gateway.tryon_support import eyewear_shop, no_face_jpeg, selfie_jpeg

T = TypeVar("T")
CONCURRENT = 12


def _engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def _set_quota(client: TestClient, merchant_id: uuid.UUID, limit: int) -> None:
    with session_scope(_engine(client)) as session:
        merchant = session.get(Merchant, merchant_id)
        assert merchant is not None
        merchant.monthly_tryon_quota = limit


def _all_at_once(count: int, call: Callable[[], T]) -> list[T | BaseException]:
    """``call`` from ``count`` threads released together; each result or exception."""
    gate = threading.Barrier(count)

    def one(_: int) -> T | BaseException:
        gate.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _used(client: TestClient, merchant_id: uuid.UUID) -> int:
    with session_scope(_engine(client)) as session:
        return usage.quota_state(
            session=session, merchant_id=merchant_id, limit=0, now=datetime.now(UTC)
        ).used


def test_concurrent_reservations_take_exactly_what_is_left(client: TestClient) -> None:
    m = merchant_in(client)
    now = datetime.now(UTC)
    with session_scope(_engine(client)) as session:  # two try-ons done before reservations
        usage.record(
            session=session,
            merchant_id=m.merchant.id,
            metric=usage.Metric.TRYON_PHOTO,
            now=now,
            count=2,
        )

    def reserve() -> quota.Reservation:
        with session_scope(_engine(client)) as session:
            return quota.reserve(session=session, merchant_id=m.merchant.id, limit=5, now=now)

    results = _all_at_once(CONCURRENT, reserve)
    taken = [r for r in results if isinstance(r, quota.Reservation)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(taken), len(refused)) == (3, CONCURRENT - 3), results
    assert _used(client, m.merchant.id) == 5

    # Given back, one is free again; the month's count follows.
    with session_scope(_engine(client)) as session:
        quota.release(session=session, reservation=taken[0])
    assert _used(client, m.merchant.id) == 4
    assert isinstance(reserve(), quota.Reservation)
    with pytest.raises(QuotaExceeded):
        reserve()


def test_a_new_month_starts_from_zero(client: TestClient) -> None:
    m = merchant_in(client)
    november = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    december = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
    with session_scope(_engine(client)) as session:
        quota.reserve(session=session, merchant_id=m.merchant.id, limit=1, now=november)
        with pytest.raises(QuotaExceeded) as refused:
            quota.reserve(session=session, merchant_id=m.merchant.id, limit=1, now=november)
        assert refused.value.headers["Retry-After"] == "3600"
        quota.reserve(session=session, merchant_id=m.merchant.id, limit=1, now=december)


def test_concurrent_photo_tryons_with_one_left_render_once(client: TestClient) -> None:
    """The reported defect: with one try-on left, 12 concurrent photo try-ons all got 200."""
    shop = eyewear_shop(client)
    merchant_id = shop.merchant.merchant.id
    _set_quota(client, merchant_id, 1)
    pk = shop.merchant.publishable_key
    photo = selfie_jpeg()

    def tryon() -> Any:
        return client.post(
            "/v1/widget/tryon",
            params={"product": "round-black"},
            content=photo,
            headers={**widget(pk), "Content-Type": "image/jpeg"},
        )

    responses = _all_at_once(CONCURRENT, tryon)
    statuses = sorted(getattr(r, "status_code", 0) for r in responses)
    assert statuses == [200] + [429] * (CONCURRENT - 1), responses
    for response in responses:
        if getattr(response, "status_code", 0) == 429:
            assert_problem(response, 429, "quota-exceeded")
    assert _used(client, merchant_id) == 1
    report = client.get("/v1/usage", headers=auth(shop.merchant.secret_key)).json()
    assert report["totals"].get("tryon_photo") == 1
    assert report["quota"]["used"] == 1
    config = client.get(
        "/v1/widget/config", params={"product": "round-black"}, headers=widget(pk)
    ).json()
    assert config["quota"] == {"exhausted": True, "remaining": 0}


def test_a_failed_tryon_gives_its_reservation_back(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    merchant_id = shop.merchant.merchant.id
    _set_quota(embedded, merchant_id, 1)
    pk = shop.merchant.publishable_key
    headers = {**widget(pk), "Content-Type": "image/jpeg"}

    def config() -> Any:
        return embedded.get(
            "/v1/widget/config", params={"product": "round-black"}, headers=widget(pk)
        ).json()["quota"]

    assert config() == {"exhausted": False, "remaining": 1}  # now cached
    for body in (no_face_jpeg(), b"\xff\xd8\xff not a jpeg"):
        failed = embedded.post(
            "/v1/widget/tryon", params={"product": "round-black"}, content=body, headers=headers
        )
        assert failed.status_code == 422, failed.text
        assert _used(embedded, merchant_id) == 0
        assert config() == {"exhausted": False, "remaining": 1}
    # An unknown brand model: refused after the reservation, which is given back.
    missing = embedded.post(
        f"/v1/widget/models/{uuid.uuid4()}/tryon",
        params={"product": "round-black"},
        headers=widget(pk),
    )
    assert_problem(missing, 404, "not-found")
    assert _used(embedded, merchant_id) == 0

    ok = embedded.post(
        "/v1/widget/tryon",
        params={"product": "round-black"},
        content=selfie_jpeg(),
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert config() == {"exhausted": True, "remaining": 0}  # the cached use was invalidated
    refused = embedded.post(
        "/v1/widget/tryon",
        params={"product": "round-black"},
        content=selfie_jpeg(),
        headers=headers,
    )
    assert_problem(refused, 429, "quota-exceeded")


def test_an_analysis_needs_a_try_on_left_but_takes_none(embedded: TestClient) -> None:
    shop = eyewear_shop(embedded)
    merchant_id = shop.merchant.merchant.id
    _set_quota(embedded, merchant_id, 1)
    headers = {**widget(shop.merchant.publishable_key), "Content-Type": "image/jpeg"}
    for _ in range(2):
        response = embedded.post(
            "/v1/widget/analyze",
            params={"product": "round-black"},
            content=selfie_jpeg(),
            headers=headers,
        )
        assert response.status_code == 200, response.text
    assert _used(embedded, merchant_id) == 0
