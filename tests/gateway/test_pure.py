"""Pure pieces: Accept negotiation, the live frame gate and subject presence, month
arithmetic, origins, the page origin of a widget call."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.errors import NotAcceptable
from gateway.limits.quota import seconds_to_next_month
from gateway.products.models import ProductVariant
from gateway.tryon import negotiation
from gateway.tryon.live import FrameGate, Presence, missing_subject
from gateway.tryon.service import size_options
from gateway.usage.service import month_bounds
from gateway.widget.auth import page_origin


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


def _closes_within(gate: FrameGate, times: float, seconds: float) -> float | None:
    """Frames at ``times`` the gate's cap, evenly spaced on an injected clock for ``seconds``:
    when the gate first calls it a flood (seconds from the start), or None."""
    step = 1.0 / (times * gate.fps)
    for i in range(round(seconds * times * gate.fps)):
        now = 500.0 + i * step
        if not gate.admit(now) and gate.flooding():
            return now - 500.0
    return None


@pytest.mark.parametrize("times", [3.0, 3.3, 4.0, 10.0])
@pytest.mark.parametrize("fps", [2.0, 15.0, 30.0])
def test_a_stream_at_three_times_the_cap_is_a_flood(fps: float, times: float) -> None:
    # docs/api.md: "sustained at 3x the cap, the server closes with 1008". Main closed only
    # from 4x (it counted refused frames alone): 3.3x for 10 s went on.
    closed_at = _closes_within(FrameGate(fps=fps), times, seconds=10.0)
    assert closed_at is not None
    assert closed_at < 1.5  # once a whole second of it has arrived


@pytest.mark.parametrize("times", [1.0, 2.0, 2.9])
@pytest.mark.parametrize("fps", [2.0, 15.0, 30.0])
def test_a_stream_under_three_times_the_cap_is_refused_in_part_never_closed(
    fps: float, times: float
) -> None:
    gate = FrameGate(fps=fps)
    assert _closes_within(gate, times, seconds=60.0) is None


def test_a_burst_then_quiet_forgets_the_burst() -> None:
    gate = FrameGate(fps=10)
    refused = [gate.admit(200.0 + i * 0.01) for i in range(25)]  # 2.5x the cap in 0.25 s
    assert not all(refused)
    assert not gate.flooding()
    assert gate.admit(210.0)  # ten seconds later: a full bucket and an empty window
    assert len(gate.arrivals) == 1


def test_live_status_goes_out_only_when_presence_changes() -> None:
    presence = Presence()
    assert presence.update(None) is None  # a connection starts as "found": nothing to say
    assert presence.update("no-face") == {
        "type": "status",
        "subject_found": False,
        "reason": "no-face",
    }
    assert presence.update("no-face") is None
    assert presence.update("no-body")["reason"] == "no-body"  # type: ignore[index]
    assert presence.update(None) == {"type": "status", "subject_found": True}
    assert presence.update(None) is None


@pytest.mark.parametrize(
    ("geometry", "output", "missing"),
    [
        ({"width": 4, "height": 3, "category": "eyewear", "faces": [{}]}, "render", None),
        (
            {"width": 4, "height": 3, "category": "eyewear", "skipped": "no-face"},
            "render",
            "no-face",
        ),
        ({"category": "top", "skipped": "body-not-visible"}, "render", "body-not-visible"),
        ({"width": 4, "height": 3, "faces": []}, "geometry", "no-face"),
        ({"width": 4, "height": 3, "faces": [{"box": [0, 0, 1, 1]}]}, "geometry", None),
    ],
)
def test_missing_subject(geometry: dict[str, object], output: str, missing: str | None) -> None:
    assert missing_subject(geometry, output) == missing


@pytest.mark.parametrize(
    ("origin", "fetch_site", "page"),
    [
        ("https://shop.example", None, "https://shop.example"),
        ("https://shop.example", "cross-site", "https://shop.example"),
        (None, "same-origin", "https://api.tryon.example"),
        (None, "Same-Origin", "https://api.tryon.example"),
        (None, "same-site", None),  # another origin of the same site: it must send Origin
        (None, "cross-site", None),
        (None, "none", None),  # typed in the address bar: not a page
        (None, None, None),
    ],
)
def test_the_page_origin_of_a_widget_call(
    origin: str | None, fetch_site: str | None, page: str | None
) -> None:
    assert (
        page_origin(
            origin=origin, sec_fetch_site=fetch_site, public_url="https://api.tryon.example/v1/"
        )
        == page
    )


def _variant(external_id: str, color: str | None, size: str | None) -> ProductVariant:
    return ProductVariant(
        external_id=external_id,
        title=external_id,
        color=color,
        size=size,
        measurements={"frame_width_mm": 130} if size or color else {},
    )


def test_size_options_are_the_sizes_of_the_chosen_colour() -> None:
    colours = [_variant("black", "Black", None), _variant("gold", "Gold", None)]
    # Colours of a one-size product are no sizes.
    assert size_options(colours, chosen=colours[1]) == ()
    shirts = [
        _variant("navy-s", "Navy", "S"),
        _variant("navy-m", "Navy", "M"),
        _variant("red-s", "Red", "S"),
        _variant("red-m", " red ", "M"),
        _variant("red-x", "Red", None),  # no size: never an option
    ]
    chosen = size_options(shirts, chosen=shirts[2])
    assert [(o.variant_id, o.size) for o in chosen] == [("red-s", "S"), ("red-m", "M")]
    # Without a chosen variant: the first variant's colour (the one the widget shows first).
    assert [o.variant_id for o in size_options(shirts, chosen=None)] == ["navy-s", "navy-m"]
    plain = [_variant("s", None, "S"), _variant("m", None, "M")]
    assert [o.size for o in size_options(plain, chosen=None)] == ["S", "M"]
    assert size_options([], chosen=None) == ()


def test_month_arithmetic() -> None:
    assert month_bounds(date(2026, 12, 15)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds(date(2026, 2, 1)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert seconds_to_next_month(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_next_month(datetime(2026, 1, 1, tzinfo=UTC)) == 31 * 86400
