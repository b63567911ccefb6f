"""Values every platform's REST answers carry the same way: numeric ids and money amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def numeric_id(value: object) -> str | None:
    """A positive integer id as a string (``250`` or ``"250"``), or None."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text if text.isdigit() and len(text) <= 20 and int(text) > 0 else None


def money(value: object) -> str | None:
    """A non-negative amount as ``POST /v1/orders`` takes it (``"129.9"``), or None."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return format(amount.quantize(Decimal("0.0001")).normalize(), "f")
