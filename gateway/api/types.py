"""Field types for request bodies, shared by the domains' schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, StrictInt


def _whole_number(value: object) -> object:
    """JSON Schema's integers include ``3.0``; booleans and strings are no numbers at all."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
"""An integer as JSON Schema means it: ``3`` or ``3.0``, never ``true``, ``"3"`` or ``3.5``."""
