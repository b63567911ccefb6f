"""Pure pieces: Accept negotiation, the live frame gate, month arithmetic, origins."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.errors import NotAcceptable
from gateway.limits.quota import seconds_to_next_month
from gateway.tryon import negotiation
from gateway.tryon.live import FrameGate
from gateway.usage.service import month_bounds


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "image/jpeg"),
        ("", "image/jpeg"),
        ("*/*", "image/jpeg"),
        ("image/*", "image/jpeg"),
        ("image/png", "image/png"),
        ("application/json", "application/json"),
        ("image/webp;q=0.4, image/png;q=0.9", "image/png"),
        ("text/html, image/webp", "image/webp"),
        ("image/png, */*;q=0.1", "image/png"),
        ("IMAGE/PNG", "image/png"),
        ("image/png;q=abc, image/webp", "image/webp"),
    ],
)
def test_accept_negotiation(accept: str | None, chosen: str) -> None:
    assert negotiation.choose(accept) == chosen


@pytest.mark.parametrize("accept", ["text/html", "image/png;q=0", "application/xml, text/*"])
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiation.choose(accept)


def test_frame_gate_admits_the_rate_and_flags_a_flood() -> None:
    gate = FrameGate(fps=10)
    admitted = sum(gate.admit(100.0 + i * 0.1) for i in range(50))  # 10 per second exactly
    assert admitted == 50
    assert not gate.flooding()
    burst = [gate.admit(106.0) for _ in range(60)]  # 60 at once: six times the rate
    assert sum(burst) <= 11
    assert gate.flooding()


def test_month_arithmetic() -> None:
    assert month_bounds(date(2026, 12, 15)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds(date(2026, 2, 1)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert seconds_to_next_month(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_next_month(datetime(2026, 1, 1, tzinfo=UTC)) == 31 * 86400
