"""The event types exist twice: ``analytics/schema.py`` (what the server accepts) and
``sdk_js/src/analytics.ts`` (what the widget sends). They must agree: the SDK sends every
type a browser may send and nothing else (``purchase`` is server-only)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from analytics import schema

SDK = Path(__file__).resolve().parents[2] / "sdk_js" / "src" / "analytics.ts"


def sdk_event_types(source: str) -> set[str]:
    """The string literals of ``export type EventType = | "a" | "b" ...;``."""
    match = re.search(r"export type EventType\s*=\s*([^;]+);", source)
    assert match, "no EventType union in the SDK"
    return set(re.findall(r'"([a-z_]+)"', match.group(1)))


def test_the_sdk_sends_exactly_the_types_a_browser_may_send() -> None:
    browser_types = set(schema.EVENT_TYPES) - schema.SERVER_ONLY_TYPES
    assert sdk_event_types(SDK.read_text()) == browser_types


def test_the_schema_models_every_listed_type() -> None:
    union = typing.get_args(schema.Event)[0]
    modelled = {
        typing.get_args(model.model_fields["type"].annotation)[0]
        for model in typing.get_args(union)
    }
    assert modelled == set(schema.EVENT_TYPES)


def test_the_parser_sees_a_difference() -> None:
    source = 'export type EventType =\n  | "impression"\n  | "opened";\n'
    assert sdk_event_types(source) == {"impression", "opened"}
