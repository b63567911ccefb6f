"""The product page template rendered by PHP (the module's ViewModel and Config over the
labelled stubs of its unit tests, a stub escaper): hostile product data stays text, the SDK is
pinned by its integrity hash, nothing renders unconfigured; then the page script in chromium
follows the simple product Magento's configurable script picks and carries the try-on session
into the add-to-cart form."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
RENDER = Path(__file__).with_name("render.php")
SCRIPT = ROOT / "plugins/magento/view/frontend/web/js/tryon-product.js"
CHROMIUM = os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium")
HASH = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"
READY = {
    "tryon/general/enabled": "1",
    "tryon/general/publishable_key": "pk_live_0123456789abcdef",
    "tryon/general/api_base": "https://api.tryon.example",
    "tryon/general/sdk_url": "https://api.tryon.example/sdk/v1.4.2/tryon.js",
    "tryon/general/sdk_integrity": HASH,
}
HOSTILE = 'Aviator "><script>alert(1)</script><img src=x onerror=alert(2)>'

pytestmark = pytest.mark.skipif(
    shutil.which("php") is None and os.environ.get("CI") != "true",
    reason="php-cli is not installed (make php-tools)",
)


def render(config: dict[str, str], **product: Any) -> str:
    values = {"id": 2046, "sku": "AV", "name": "Aviator", "type": "configurable"}
    values |= {"links": [2047, 2048]} | product
    done = subprocess.run(
        ["php", str(RENDER), json.dumps({"config": config, "product": values})],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Warning" not in done.stderr, done.stderr
    return done.stdout


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def test_hostile_product_data_stays_text_and_the_sdk_is_pinned() -> None:
    html = render(READY, name=HOSTILE, sku='"><b>')
    found = elements(html)
    assert [tag for tag, _ in found] == ["div", "script", "script"]  # no injected element
    block = found[0][1]
    assert block["data-tryon-name"] == HOSTILE  # the same text, as an attribute value
    assert block["data-tryon-sku"] == '"><b>'
    assert block["data-tryon-product"] == "2046"
    assert block["data-tryon-variants"] == "2047,2048"
    sdk = found[1][1]
    assert sdk["src"] == READY["tryon/general/sdk_url"]
    assert sdk["integrity"] == HASH
    assert sdk["crossorigin"] == "anonymous"
    assert sdk["data-publishable-key"] == READY["tryon/general/publishable_key"]


@pytest.mark.parametrize(
    "change",
    [
        {"tryon/general/enabled": "0"},
        {"tryon/general/sdk_integrity": ""},
        {"tryon/general/sdk_url": "javascript:alert(1)"},
        {"tryon/general/publishable_key": "sk_live_0123456789abcdef"},
    ],
)
def test_nothing_renders_unless_configured_and_pinned(change: dict[str, str]) -> None:
    assert render(READY | change).strip() == ""


@pytest.mark.browser
def test_the_page_script_follows_the_pick_and_carries_the_session(tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK) or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and node are needed for the browser test")
        pytest.skip("chromium or node is missing")
    page = tmp_path / "rendered.html"
    page.write_text(render(READY, name=HOSTILE))
    out = tmp_path / "out.json"
    subprocess.run(
        ["node", str(Path(__file__).with_name("page.mjs")), str(page), str(SCRIPT), str(out)],
        check=True,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert result["errors"] == []
    steps = result["steps"]
    assert steps["initial"] == ""  # a configurable: nothing picked yet
    assert steps["picked"] == "2048"
    assert steps["unknown"] == ""  # not one of this product's simple products
    assert steps["again"] == "2047"
    assert steps["session"] == "sess-1234-abcd"  # another product's result changed nothing
    (submitted,) = steps["submitted"]
    assert submitted["tryon_session"] == "sess-5678-efgh"
    assert submitted["selected_configurable_option"] == "2047"
    assert submitted["tryon_widget_session"] == "wsess-widget-01"
    assert steps["addedByWidget"] == 0  # the SDK reported the widget's add itself
    # The page's own button: one addedToCart, whose answer the form posts.
    own = steps["own"]
    assert own["added"] == [{"productId": "2046", "variantId": "2047", "quantity": 1}]
    (posted,) = own["submitted"]
    assert posted["tryon_widget_session"] == "wsess-page-0001"
