"""The app's and the extensions' configuration: scopes, webhooks, URLs, locales."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from gateway.platforms.shopify.adapter import API_TOPICS, TOML_TOPICS
from tests.plugins.shopify.liquid_shopify import EXTENSION, PLUGIN, load_block

WEBHOOKS_PATH = "/platforms/shopify/webhooks"
COMPLIANCE = {"customers/data_request", "customers/redact", "shop/redact"}


def app_toml() -> dict[str, Any]:
    return tomllib.loads((PLUGIN / "shopify.app.toml").read_text())


def test_scopes_are_the_minimal_four() -> None:
    scopes = app_toml()["access_scopes"]["scopes"].split(",")
    assert sorted(scopes) == sorted(
        ["read_products", "read_orders", "write_pixels", "read_customer_events"]
    )
    assert not any(s.startswith("write_") and s != "write_pixels" for s in scopes)


def test_webhooks_cover_compliance_uninstall_products_orders() -> None:
    config = app_toml()
    assert config["embedded"] is True
    assert re.fullmatch(r"\d{4}-(01|04|07|10)", config["webhooks"]["api_version"])
    topics: set[str] = set()
    compliance: set[str] = set()
    for sub in config["webhooks"]["subscriptions"]:
        assert sub["uri"].startswith("https://")
        assert sub["uri"].endswith(WEBHOOKS_PATH)
        topics |= set(sub.get("topics", []))
        compliance |= set(sub.get("compliance_topics", []))
    assert compliance == COMPLIANCE
    # Declared here exactly what the gateway does not subscribe itself: each topic once.
    assert compliance | topics == set(TOML_TOPICS)
    assert topics.isdisjoint(API_TOPICS)


def test_redirect_and_application_urls() -> None:
    config = app_toml()
    assert [u.rsplit("/platforms", 1)[1] for u in config["auth"]["redirect_urls"]] == [
        "/shopify/callback"
    ]
    assert config["application_url"].startswith("https://")
    assert "/platforms/shopify/" in config["application_url"]


def test_pixel_extension_declares_its_settings() -> None:
    pixel = tomllib.loads((PLUGIN / "extensions/tryon-pixel/shopify.extension.toml").read_text())
    assert pixel["type"] == "web_pixel_extension"
    assert set(pixel["settings"]["fields"]) == {"apiBase", "publishableKey"}
    theme = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    assert theme["type"] == "theme"


def _keys(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict):
        return {k for key, value in node.items() for k in _keys(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_locales_have_the_same_keys_in_both_languages() -> None:
    locales = EXTENSION / "locales"
    en = json.loads((locales / "en.default.json").read_text())
    fr = json.loads((locales / "fr.json").read_text())
    assert _keys(en) == _keys(fr)
    en_schema = json.loads((locales / "en.default.schema.json").read_text())
    fr_schema = json.loads((locales / "fr.schema.json").read_text())
    assert _keys(en_schema) == _keys(fr_schema)
    # Every t: key the blocks' schemas use is in the schema locales.
    used = {
        value.removeprefix("t:")
        for name in ("tryon-button", "tryon-embed")
        for value in re.findall(r'"(t:[^"]+)"', json.dumps(load_block(name).schema))
    }
    assert used
    assert used <= _keys(en_schema)


def test_block_targets_and_assets() -> None:
    button = load_block("tryon-button").schema
    embed = load_block("tryon-embed").schema
    assert button["target"] == "section"
    assert button["enabled_on"] == {"templates": ["product"]}
    assert {s["id"] for s in button["settings"]} >= {"label", "button_color", "categories"}
    assert embed["target"] in ("head", "body")
    assert {s["id"] for s in embed["settings"]} >= {"publishable_key", "sdk_integrity"}
    script = EXTENSION / "assets" / button["javascript"]
    # Shopify's limit for an app block's JavaScript.
    assert script.stat().st_size < 10_000
    assert (EXTENSION / "assets" / button["stylesheet"]).is_file()
