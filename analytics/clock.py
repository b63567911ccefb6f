"""Clock-skew correction for client event times (pure functions)."""

from __future__ import annotations

from datetime import datetime


def corrected_time(
    *, occurred_at: datetime, received_at: datetime, sent_at: datetime | None = None
) -> datetime:
    """When the event happened by the server's clock.

    When the client says when it sent the batch (``sent_at``, by its own clock), the
    difference from the server's receipt time is the client's clock offset (plus the network
    delay, small against the skews this corrects: clocks hours or days off). Without
    ``sent_at`` the client's time is taken as is. Either way an event cannot have happened
    after the server received it, so later times are clamped to ``received_at``.
    """
    when = occurred_at if sent_at is None else occurred_at + (received_at - sent_at)
    return min(when, received_at)
