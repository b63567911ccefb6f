"""The app block and app embed rendered by a real Liquid engine (python-liquid; Shopify's
filters stubbed, see liquid_shopify.py): what the SDK is given, in both languages, and what
hostile settings become."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.plugins.shopify.liquid_shopify import (
    MissingTranslation,
    load_block,
    render,
    render_block,
)

HOSTILE = "\"><script>alert(1)</script><x a='"


def product(**changes: Any) -> dict[str, Any]:
    variants = [{"id": 45000000000001, "title": "Black"}, {"id": 45000000000002, "title": "Gold"}]
    value: dict[str, Any] = {
        "id": 8123456789012,
        "title": "Round <b>frames</b>",
        "type": "Eyewear",
        "tags": ["glasses", "Summer sale"],
        "variants": variants,
        "selected_or_first_available_variant": variants[0],
    }
    value.update(changes)
    return value


def request(language: str = "en", design_mode: bool = False) -> dict[str, Any]:
    return {"design_mode": design_mode, "locale": {"iso_code": language}}


class Elements(HTMLParser):
    """Start tags and their attributes, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def button(
    *, language: str = "en", design_mode: bool = False, item: dict[str, Any] | None = None, **s: Any
) -> str:
    block = load_block("tryon-button")
    return render_block(
        block,
        language=language,
        product=item or product(),
        request=request(language, design_mode),
        block={
            "id": "b1",
            "settings": {**block.defaults(), **s},
            "shopify_attributes": 'data-shopify-editor-block="{}"',
        },
    )


def embed(*, language: str = "en", design_mode: bool = False, **s: Any) -> str:
    block = load_block("tryon-embed")
    settings = {
        **block.defaults(),
        "publishable_key": "pk_test_abc",
        "sdk_url": "https://api.tryon.example/sdk/1.0.0/tryon.js",
        "sdk_integrity": "sha384-" + "A" * 64,
    }
    settings.update(s)
    return render_block(
        block,
        language=language,
        request=request(language, design_mode),
        block={"id": "e1", "settings": settings},
    )


def the_div(text: str) -> dict[str, str | None]:
    divs = [a for tag, a in Elements(text).found if tag == "div" and "data-tryon-block" in a]
    assert len(divs) == 1, text
    return divs[0]


def test_block_gives_the_sdk_shopify_numeric_ids() -> None:
    div = the_div(button())
    assert div["data-tryon-product"] == "8123456789012"
    assert div["data-tryon-variant"] == "45000000000001"
    assert div["data-tryon-variants"] == "45000000000001,45000000000002"
    assert div["data-tryon-label"] == "Try it on"
    assert div["style"] == "--tryon-block-accent: #1f5eff;"


def test_block_starts_on_the_selected_variant() -> None:
    item = product()
    item["selected_or_first_available_variant"] = item["variants"][1]
    assert the_div(button(item=item))["data-tryon-variant"] == "45000000000002"


def test_label_default_is_translated_and_a_custom_one_kept() -> None:
    assert the_div(button(language="fr"))["data-tryon-label"] == "Essayer"
    assert the_div(button(label="  Voir sur moi "))["data-tryon-label"] == "Voir sur moi"
    failed = the_div(button(language="fr"))["data-tryon-cart-failed"]
    assert failed is not None
    assert failed.startswith("Cet article")


def test_hostile_label_stays_an_attribute_value() -> None:
    text = button(label=HOSTILE)
    assert "<script>" not in text
    elements = Elements(text).found
    assert [tag for tag, _ in elements] == ["div"]
    assert the_div(text)["data-tryon-label"] == HOSTILE.strip()


@pytest.mark.parametrize(
    ("categories", "shown"),
    [
        (None, True),
        ("", True),
        (" , ,", True),
        ("eyewear", True),
        ("Hats, GLASSES", True),
        ("summer sale", True),
        ("hats", False),
        ("glass", False),
    ],
)
def test_categories_setting_limits_the_products(categories: str | None, shown: bool) -> None:
    assert ("data-tryon-block" in button(categories=categories)) is shown


def test_editor_hint_only_in_the_theme_editor() -> None:
    assert "App embeds" not in button()
    assert "App embeds" in button(design_mode=True)
    assert "Intégrations d'applications" in button(language="fr", design_mode=True)


def test_embed_loads_the_pinned_sdk_once() -> None:
    scripts = [a for tag, a in Elements(embed(language="fr")).found if tag == "script"]
    assert len(scripts) == 1
    script = scripts[0]
    assert script["src"] == "https://api.tryon.example/sdk/1.0.0/tryon.js"
    assert script["integrity"] == "sha384-" + "A" * 64
    assert script["crossorigin"] == "anonymous"
    assert script["data-publishable-key"] == "pk_test_abc"
    assert script["data-locale"] == "fr"
    assert "defer" in script


@pytest.mark.parametrize(("iso", "sdk"), [("en", "en"), ("fr-CA", "fr"), ("de", "auto")])
def test_embed_passes_the_storefront_language(iso: str, sdk: str) -> None:
    block = load_block("tryon-embed")
    text = render_block(
        block,
        request=request(iso),
        block={
            "id": "e",
            "settings": {
                **block.defaults(),
                "publishable_key": "pk_x",
                "sdk_url": "https://a.example/sdk/1.0.0/tryon.js",
                "sdk_integrity": "sha384-abc",
            },
        },
    )
    assert f'data-locale="{sdk}"' in text


@pytest.mark.parametrize(
    "unsafe",
    [
        {"sdk_integrity": ""},
        {"sdk_integrity": "sha1-abc"},
        {"publishable_key": ""},
        {"publishable_key": "sk_live_secret"},
        {"publishable_key": "sk_live_pk_x"},
        {"sdk_integrity": "sha256-sha384-x"},
        {"sdk_url": "javascript:alert(1)"},
        {"sdk_url": "javascript:https://x.example/tryon.js"},
        {"sdk_url": "//x.example/tryon.js"},
        {"sdk_url": None},
    ],
)
def test_embed_loads_nothing_unpinned_or_without_a_key(unsafe: dict[str, Any]) -> None:
    text = embed(**unsafe)
    assert "<script" not in text
    # In the theme editor the merchant is told why, in the console.
    hint = embed(design_mode=True, **unsafe)
    assert "console.warn(" in hint
    assert "src=" not in hint


def test_embed_escapes_hostile_settings() -> None:
    text = embed(publishable_key="pk_" + HOSTILE, sdk_url="https://x.example/" + HOSTILE)
    elements = Elements(text).found
    assert [tag for tag, _ in elements] == ["script"]
    attrs = elements[0][1]
    assert attrs["data-publishable-key"] == "pk_" + HOSTILE
    assert attrs["src"] == "https://x.example/" + HOSTILE


def test_json_stub_is_safe_inside_a_script() -> None:
    out = render("<script>var x = {{ v | json }};</script>", v="</script><script>alert(1)")
    assert out.count("</script>") == 1
    assert html.unescape(out) == out


def test_a_missing_translation_fails_the_render() -> None:
    with pytest.raises(MissingTranslation):
        render("{{ 'tryon.nothing.here' | t }}")


def test_strict_undefined_catches_a_misspelt_field() -> None:
    block = load_block("tryon-button")
    source = block.source.replace("product.selected_or_first_available_variant", "product.selectd")
    with pytest.raises(Exception, match="selectd"):
        render(
            source,
            product=product(),
            request=request(),
            block={"id": "b", "settings": block.defaults(), "shopify_attributes": ""},
        )
    assert re.search(r"data-tryon-variant=\"\d+\"", button())
