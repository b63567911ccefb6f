"""The event schema and clock correction (pure)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from analytics.clock import corrected_time
from analytics.errors import InvalidEvents
from analytics.ingest import MalformedBody, parse_batch, records_for
from analytics.processing import MAX_MESSAGE_BYTES, decode
from analytics.schema import EVENT_TYPES, EventRecord, PurchaseLine
from analytics.settings import AnalyticsSettings
from analytics.warehouse.writer import to_e4
from tests.analytics.factories import PROPERTIES, event_json

SETTINGS = AnalyticsSettings()
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def batch(*events: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"events": list(events), **extra}).encode()


@pytest.mark.parametrize("kind", [k for k in EVENT_TYPES if k in PROPERTIES])
def test_every_widget_event_type_parses(kind: str) -> None:
    parsed = parse_batch(batch(event_json(kind, tryon_session_id="tryon-0001")), settings=SETTINGS)
    assert parsed.events[0].type == kind


def test_properties_default_where_optional() -> None:
    event = event_json("add_to_cart")
    del event["properties"]
    parsed = parse_batch(batch(event), settings=SETTINGS)
    assert parsed.events[0].properties.quantity == 1  # type: ignore[union-attr]


def test_add_to_cart_says_whether_the_size_advice_was_followed() -> None:
    event = event_json("add_to_cart")
    event["properties"] = {"size": "L", "recommended_size": "S", "advice_followed": False}
    parsed = parse_batch(batch(event), settings=SETTINGS).events[0].properties
    assert (parsed.size, parsed.recommended_size, parsed.advice_followed) == ("L", "S", False)  # type: ignore[union-attr]
    # Without advice shown there is nothing to follow: absent, not false.
    plain = parse_batch(batch(event_json("add_to_cart")), settings=SETTINGS).events[0].properties
    assert plain.advice_followed is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "properties",
    [
        {"advice_followed": "yes"},
        {"advice_followed": 1},
        {"recommended_size": ""},
        {"recommended_size": "S" * 33},
        {"recommended_size": "S\n"},
    ],
)
def test_bad_advice_properties_are_refused(properties: dict[str, object]) -> None:
    event = event_json("add_to_cart")
    event["properties"] = properties
    with pytest.raises(InvalidEvents):
        parse_batch(batch(event), settings=SETTINGS)


def test_required_properties_are_required() -> None:
    event = event_json("tryon_rendered")
    del event["properties"]["latency_ms"]
    with pytest.raises(InvalidEvents) as exc:
        parse_batch(batch(event), settings=SETTINGS)
    assert exc.value.errors[0]["loc"][-1] == "latency_ms"


def test_validation_errors_never_echo_the_input() -> None:
    event = event_json("open", widget_session_id="secret value 203.0.113.5")
    with pytest.raises(InvalidEvents) as exc:
        parse_batch(batch(event), settings=SETTINGS)
    assert "203.0.113.5" not in json.dumps(exc.value.errors)


def test_not_json_is_malformed_not_invalid() -> None:
    with pytest.raises(MalformedBody):
        parse_batch(b"\x00\x01", settings=SETTINGS)


def test_the_batch_limit_comes_from_settings() -> None:
    small = AnalyticsSettings(max_batch_events=2)
    with pytest.raises(InvalidEvents, match="at most 2"):
        parse_batch(batch(*(event_json() for _ in range(3))), settings=small)


def test_records_carry_server_knowledge_and_round_trip() -> None:
    parsed = parse_batch(
        batch(event_json(occurred_at=NOW - timedelta(minutes=1))), settings=SETTINGS
    )
    merchant = uuid.uuid4()
    (rec,) = records_for(
        parsed.events,
        merchant_id=merchant,
        store="https://a.example",
        source="widget",
        received_at=NOW,
        settings=SETTINGS,
    )
    assert rec.merchant_id == merchant
    assert rec.received_at == NOW
    assert EventRecord.from_bytes(rec.to_bytes()) == rec
    assert b"\n" not in rec.to_bytes()  # one line per record in spool files


def test_server_sources_may_send_purchases() -> None:
    purchase = event_json(
        "purchase",
        product_id=None,
        widget_session_id=None,
        properties={
            "order_id": "1001",
            "revenue": "10.5",
            "currency": "EUR",
            "lines": [{"product_id": "p", "quantity": 1, "price": "10.5"}],
        },
    )
    parsed = parse_batch(batch(purchase), settings=SETTINGS)
    with pytest.raises(InvalidEvents, match="cannot be accepted"):
        records_for(
            parsed.events,
            merchant_id=uuid.uuid4(),
            store=None,
            source="widget",
            received_at=datetime.now(UTC),
            settings=SETTINGS,
        )
    assert records_for(
        parsed.events,
        merchant_id=uuid.uuid4(),
        store=None,
        source="server",
        received_at=datetime.now(UTC),
        settings=SETTINGS,
    )


def test_the_largest_valid_line_fits_the_warehouse() -> None:
    """Line revenue is stored as 64-bit ten-thousandths (``revenue_e4``): the largest unit
    price times the largest quantity must fit, many times over (rollups add them up). With
    14 integer digits it did not, and a batch holding such an order failed for good."""
    largest = Decimal("999999999.9999")
    PurchaseLine.model_validate({"price": largest, "quantity": 10_000, "product_id": "p"})
    assert to_e4(largest) * 10_000 * 90 < 2**63
    with pytest.raises(ValidationError):
        PurchaseLine.model_validate({"price": "1000000000", "quantity": 1, "product_id": "p"})


def test_the_largest_valid_record_is_not_poison() -> None:
    """A purchase with every field at its longest (500 lines, ids of 4-byte characters) is a
    record the consumer stores, not one it dead-letters as too large."""
    wide = "\U0001d538" * 128  # 128 characters of 4 bytes each in UTF-8
    session = "s" * 64
    money = "999999999.9999"
    purchase = event_json(
        "purchase",
        product_id=wide,
        variant_id=wide,
        widget_session_id=session,
        tryon_session_id=session,
        properties={
            "order_id": wide,
            "revenue": money,
            "currency": "EUR",
            "cart_token": "c" * 128,
            "lines": [
                {
                    "product_id": wide,
                    "variant_id": wide,
                    "quantity": 10_000,
                    "price": money,
                    "tryon_session_id": session,
                }
            ]
            * 500,
        },
    )
    (rec,) = records_for(
        parse_batch(batch(purchase), settings=SETTINGS).events,
        merchant_id=uuid.uuid4(),
        store="\U0001d538" * 255,
        source="server",
        received_at=NOW,
        settings=SETTINGS,
    )
    body = rec.to_bytes()
    assert 500_000 < len(body) <= MAX_MESSAGE_BYTES
    assert decode(body) == rec


@pytest.mark.parametrize("revenue", ["-1", "1.00001", "NaN", "Infinity", "1e30", 1.5e300])
def test_money_is_bounded_and_exact(revenue: object) -> None:
    purchase = event_json(
        "purchase",
        product_id=None,
        properties={
            "order_id": "1",
            "revenue": revenue,
            "currency": "EUR",
            "lines": [{"product_id": "p", "quantity": 1, "price": "1"}],
        },
    )
    with pytest.raises(InvalidEvents):
        parse_batch(batch(purchase), settings=SETTINGS)


@pytest.mark.parametrize("currency", ["eur", "EURO", "€", ""])
def test_currency_is_an_iso_code(currency: str) -> None:
    purchase = event_json(
        "purchase",
        product_id=None,
        properties={
            "order_id": "1",
            "revenue": "1",
            "currency": currency,
            "lines": [{"product_id": "p", "quantity": 1, "price": "1"}],
        },
    )
    with pytest.raises(InvalidEvents):
        parse_batch(batch(purchase), settings=SETTINGS)


# -- clocks ---------------------------------------------------------------------------------


def test_no_sent_at_keeps_past_times() -> None:
    then = NOW - timedelta(hours=3)
    assert corrected_time(occurred_at=then, received_at=NOW) == then


def test_future_times_are_clamped() -> None:
    assert corrected_time(occurred_at=NOW + timedelta(days=1), received_at=NOW) == NOW


def test_sent_at_removes_the_client_offset() -> None:
    fast = timedelta(hours=5)
    got = corrected_time(
        occurred_at=NOW + fast - timedelta(seconds=10),
        sent_at=NOW + fast,
        received_at=NOW,
    )
    assert got == NOW - timedelta(seconds=10)


@given(
    offset_s=st.integers(-(10**7), 10**7),
    age_s=st.integers(0, 10**6),
)
def test_corrected_times_are_never_after_receipt(offset_s: int, age_s: int) -> None:
    client_now = NOW + timedelta(seconds=offset_s)
    got = corrected_time(
        occurred_at=client_now - timedelta(seconds=age_s), sent_at=client_now, received_at=NOW
    )
    assert got == NOW - timedelta(seconds=age_s)
    assert corrected_time(occurred_at=client_now, received_at=NOW) <= NOW


def test_too_old_after_correction_is_refused() -> None:
    old = event_json(occurred_at=NOW - timedelta(hours=SETTINGS.max_event_age_hours + 1))
    parsed = parse_batch(batch(old), settings=SETTINGS)
    with pytest.raises(InvalidEvents) as exc:
        records_for(
            parsed.events,
            merchant_id=uuid.uuid4(),
            store=None,
            source="widget",
            received_at=NOW,
            settings=SETTINGS,
        )
    assert exc.value.errors[0]["type"] == "too_old"


def test_settings_refuse_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="BATCH_SIZE"):
        AnalyticsSettings(batch_size=250, prefetch=200)
    with pytest.raises(ValueError, match="prefetch"):
        AnalyticsSettings(prefetch=50)
    with pytest.raises(ValueError, match="amqp"):
        AnalyticsSettings(amqp_url="http://rabbit")
    assert (
        AnalyticsSettings(amqp_url="amqp://u:pw@h:5672/v").safe_amqp_url == "amqp://u:***@h:5672/v"
    )


def test_settings_read_the_shared_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_DATA_DIR", "/srv/tryon")
    assert AnalyticsSettings().sqlalchemy_url == "sqlite:////srv/tryon/analytics.db"
    monkeypatch.setenv("TRYON_ANALYTICS_WAREHOUSE_URL", "postgresql+psycopg://h/w")
    assert AnalyticsSettings().sqlalchemy_url == "postgresql+psycopg://h/w"
