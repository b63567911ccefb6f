"""The web pixel extension: tsc against @shopify/web-pixels-extension's types, and what it sends
for a checkout_completed event (payload.ts compiled by tsc and run by node)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.shopify.liquid_shopify import PLUGIN

PIXEL = PLUGIN / "extensions" / "tryon-pixel"
TSC = PLUGIN / "node_modules" / ".bin" / "tsc"


def _require() -> None:
    if not TSC.is_file():
        pytest.fail("plugins/shopify/node_modules is missing: make plugins-deps")


def test_pixel_typechecks_against_shopify_types() -> None:
    _require()
    done = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(PIXEL)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def checkout_event(**checkout: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "token": "ct_123",
        "order": {"id": "gid://shopify/OrderIdentity/5550001"},
        "currencyCode": "EUR",
        "totalPrice": {"amount": 258, "currencyCode": "EUR"},
        "attributes": [
            {"key": "_tryon_widget_session", "value": "w_ABCdef12"},
            {"key": "gift_note", "value": "Happy birthday, Jane Doe"},
        ],
        "lineItems": [
            {
                "quantity": 2,
                "properties": [
                    {"key": "_tryon_session", "value": "3f0c6a1e-0000-4000-8000-000000000001"},
                    {"key": "engraving", "value": "J.D."},
                ],
                "variant": {
                    "id": "45000000000001",
                    "price": {"amount": 129, "currencyCode": "EUR"},
                    "product": {"id": "gid://shopify/Product/8123456789012"},
                },
            }
        ],
    }
    base.update(checkout)
    return {"id": "evt", "name": "checkout_completed", "data": {"checkout": base}}


def build(tmp_path: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    _require()
    out = tmp_path / "js"
    compiled = subprocess.run(
        [
            str(TSC),
            str(PIXEL / "src" / "payload.ts"),
            "--outDir",
            str(out),
            "--module",
            "es2020",
            "--target",
            "es2020",
            "--moduleResolution",
            "bundler",
            "--skipLibCheck",
        ],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (out / "package.json").write_text('{"type": "module"}')
    script = (
        "import { buildPayload, isAttributable } from './payload.js';"
        "const events = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify(events.map((e) => {"
        "  const p = buildPayload(e, 'lunettes-test.myshopify.com');"
        "  return { payload: p, send: isAttributable(p) }; })));"
    )
    (out / "run.mjs").write_text(script)
    done = subprocess.run(
        ["node", str(out / "run.mjs"), json.dumps(events)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def test_checkout_completed_payload(tmp_path: Path) -> None:
    [sent] = build(tmp_path, [checkout_event()])
    assert sent["send"] is True
    assert sent["payload"] == {
        "shop": "lunettes-test.myshopify.com",
        "order_id": "5550001",
        "checkout_token": "ct_123",
        # Only our values: the gift note and the engraving (personal data) never leave.
        "attributes": {"_tryon_widget_session": "w_ABCdef12"},
        "lines": [
            {
                "product_id": "8123456789012",
                "variant_id": "45000000000001",
                "quantity": 2,
                "price": "129.00",
                "properties": {"_tryon_session": "3f0c6a1e-0000-4000-8000-000000000001"},
            }
        ],
        "total": "258.00",
        "currency": "EUR",
    }


def test_nothing_sent_without_an_order_or_our_values(tmp_path: Path) -> None:
    hostile_line = {
        "quantity": 1,
        "properties": [
            {"key": "_tryon_session", "value": "x" * 500},
            {"key": "_TRYON_session", "value": "nope"},
            {"key": "_tryon_<script>", "value": "nope"},
        ],
        "variant": None,
    }
    no_order, nothing_ours, hostile = build(
        tmp_path,
        [
            checkout_event(order=None),
            checkout_event(attributes=[], lineItems=[{"quantity": 1, "properties": []}]),
            checkout_event(attributes=[], lineItems=[hostile_line], totalPrice=None),
        ],
    )
    assert no_order["send"] is False
    assert nothing_ours["send"] is False
    assert hostile["send"] is False
    assert hostile["payload"]["lines"] == [
        {"product_id": None, "variant_id": None, "quantity": 1, "price": None, "properties": {}}
    ]
    assert hostile["payload"]["total"] is None
