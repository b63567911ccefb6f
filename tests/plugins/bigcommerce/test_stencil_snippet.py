"""The optional Stencil snippet, rendered by BigCommerce's own template engine
(``@bigcommerce/stencil-paper-handlebars``, installed by ``make peers-bigcommerce``): it names
the product and its first variant for the loader, escapes hostile titles, and injects the
product id into the theme's ``jsContext``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
PEER = REPO / "tests/peers/bigcommerce"
SNIPPET = REPO / "plugins/bigcommerce/stencil/templates/components/tryon/button.html"


def render(context: dict[str, Any]) -> dict[str, str]:
    if shutil.which("node") is None or not (PEER / "node_modules/.installed").is_file():
        pytest.fail("run `make peers-bigcommerce` (node and the Stencil engine are needed)")
    out = subprocess.run(
        ["node", str(PEER / "render.mjs"), str(SNIPPET), json.dumps(context)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rendered: dict[str, str] = json.loads(out)
    return rendered


def test_the_snippet_names_the_product_and_its_first_variant() -> None:
    out = render({"product": {"id": 111, "title": "Round frames", "variants": [{"id": 501}]}})
    assert 'data-tryon-product="111"' in out["html"]
    assert 'data-tryon-variant="501"' in out["html"]
    assert json.loads(json.loads(out["jsContext"])) == {"tryonProduct": 111}


def test_a_product_without_variants_has_no_variant_attribute() -> None:
    out = render({"product": {"id": 7, "title": "Cap"}})
    assert 'data-tryon-product="7"' in out["html"]
    assert "data-tryon-variant" not in out["html"]


def test_hostile_titles_and_ids_are_escaped() -> None:
    out = render(
        {
            "product": {
                "id": '1" onmouseover="alert(1)',
                "title": '<script>alert(1)</script> " onload="x',
                "variants": [{"id": "<b>"}],
            }
        }
    )
    html = out["html"]
    assert "<script>" not in html
    assert "<b>" not in html
    assert 'onmouseover="' not in html
    assert 'onload="' not in html
    assert "&lt;script&gt;" in html
