"""Render the Shopify theme app extension's Liquid with a real Liquid engine (python-liquid).

Shopify's storefront renderer is not available here. What Shopify adds to standard Liquid is
replaced as follows, and only this:

- STUB filters (Shopify's own, not in standard Liquid): ``t`` looks the key up in the
  extension's real ``locales/*.json`` (the storefront strings; a missing key is an error, as
  theme-check says), ``asset_url`` maps a file to ``/assets/<file>`` on the test store,
  ``money`` formats cents as ``€12.90``, ``image_url`` returns the image's URL unchanged, and
  ``json`` is ``json.dumps`` with ``<``, ``>`` and ``&`` escaped as Shopify's is.
- The ``{% schema %}`` block is cut out before rendering (Shopify never renders it) and parsed
  as JSON on its own: ``Block.schema``.

Everything else (tags, standard filters, ``blank``, ``contains``, whitespace control) is
python-liquid's, with strict undefined variables, so a misspelt object or field fails the test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from liquid import Environment, StrictUndefined

REPO = Path(__file__).resolve().parents[3]
PLUGIN = REPO / "plugins" / "shopify"
EXTENSION = PLUGIN / "extensions" / "tryon-theme"

_SCHEMA = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.DOTALL)


class MissingTranslation(KeyError):
    """The ``t`` filter was given a key the locale file does not have."""


@dataclass(frozen=True)
class Block:
    """One ``blocks/*.liquid`` file: its Liquid (schema cut out) and its schema."""

    name: str
    source: str
    schema: dict[str, Any]

    def defaults(self) -> dict[str, Any]:
        """The settings a freshly added block has: each setting's default, or None."""
        return {s["id"]: s.get("default") for s in self.schema.get("settings", []) if "id" in s}


def load_block(name: str) -> Block:
    text = (EXTENSION / "blocks" / f"{name}.liquid").read_text()
    found = _SCHEMA.search(text)
    if found is None:
        raise ValueError(f"{name}.liquid has no schema")
    return Block(name=name, source=_SCHEMA.sub("", text), schema=json.loads(found.group(1)))


@cache
def locale(language: str) -> dict[str, Any]:
    """The storefront strings of ``language`` ("en" is ``en.default.json``)."""
    path = EXTENSION / "locales" / ("en.default.json" if language == "en" else f"{language}.json")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def translate(language: str, key: str) -> str:
    node: Any = locale(language)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise MissingTranslation(f"{key} is not in the {language} locale")
        node = node[part]
    if not isinstance(node, str):
        raise MissingTranslation(f"{key} is not a string in the {language} locale")
    return node


def _json(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _money(cents: object) -> str:
    return f"€{int(str(cents)) / 100:.2f}"


def environment(language: str = "en") -> Environment:
    """A Liquid environment with the Shopify filters stubbed for ``language``."""
    env = Environment(undefined=StrictUndefined)
    env.filters["t"] = lambda key, *args, **kwargs: translate(language, str(key))
    env.filters["asset_url"] = lambda name: f"/assets/{name}"
    env.filters["money"] = _money
    env.filters["image_url"] = lambda image, *args, **kwargs: str(
        image.get("src", "") if isinstance(image, dict) else image
    )
    env.filters["json"] = _json
    return env


def render(source: str, *, language: str = "en", **data: object) -> str:
    return environment(language).from_string(source).render(**data)


def render_block(template: Block, *, language: str = "en", **data: object) -> str:
    """Render a block with ``data`` (``block``, ``product``, ``request``, ...)."""
    return render(template.source, language=language, **data)
