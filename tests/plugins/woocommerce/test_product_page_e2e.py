"""The WordPress plugin on a product page, in chromium, against a real gateway.

WordPress is Debian's, on the local MariaDB in a database made for this run (dropped after),
served by PHP's built-in server; the plugin is active with the WooCommerce TEST STUB (which
renders a bare single-product template and fires the variation form's events, see
plugins/woocommerce/tests/stub). The plugin's settings pin the SDK from the gateway's
manifest over HTTP, as its settings page does. The browser part is
plugins/woocommerce/e2e/product-page.mjs (playwright-core, Debian's chromium).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import cv2
import httpx
import pytest

from ml_service import ports
from testkit.images import load_bgr
from tests.plugins.browser import run_browser_script
from tests.support.services import require, tcp_problem
from tests.plugins.shopify.gateway_process import running_gateway

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
PLUGIN = REPO / "plugins" / "woocommerce"
WORDPRESS = Path(os.environ.get("TRYON_WP_DIR", "/usr/share/wordpress"))
CHROMIUM = os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = REPO / "sdk_js" / "node_modules" / "playwright-core" / "index.mjs"
ARTIFACTS = REPO / "test-artifacts" / "woocommerce-e2e"


def _require_tools() -> None:
    missing = [
        what
        for what, ok in (
            ("php (make php-tools)", shutil.which("php") is not None),
            ("Debian's WordPress (make wordpress)", (WORDPRESS / "wp-settings.php").is_file()),
            (CHROMIUM, os.access(CHROMIUM, os.X_OK)),
            ("node", shutil.which("node") is not None),
            ("sdk_js/node_modules/playwright-core (make sdk)", PLAYWRIGHT.is_file()),
            ("sdk_js/dist/tryon.js (make sdk)", (REPO / "sdk_js/dist/tryon.js").is_file()),
        )
        if not ok
    ]
    if missing:
        pytest.fail(f"missing for the browser test: {', '.join(missing)}")


def _listening_port(pid: int, *, timeout_s: float = 20.0) -> int:
    """The TCP port process ``pid`` listens on.

    PHP's built-in server cannot report the port it bound for ``127.0.0.1:0`` other than in
    its banner, and readiness must not come from parsing a child's output: the kernel's own
    table of listening sockets (``ss -ltnp``, which names the owning pid) says which port the
    server really holds. Nothing picks a port for it, so no other process can take it first.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listing = subprocess.run(
            ["ss", "-ltnpH"], capture_output=True, text=True, check=False
        ).stdout
        for line in listing.splitlines():
            if f"pid={pid}," in line:
                found = re.search(r"127\.0\.0\.1:(\d+)\s", line)
                if found:
                    return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is not listening after {timeout_s} s")


@contextmanager
def wordpress_site(work: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """PHP's built-in server in front of the site; ``(base URL, env)``. The site itself is
    installed later (install.php) by the same env: every request boots WordPress afresh."""
    database = f"tryon_wp_{os.getpid()}_{secrets.token_hex(4)}"
    content = work / "wp-content"
    docroot = work / "docroot"
    docroot.mkdir()
    (docroot / "wp-includes").symlink_to(WORDPRESS / "wp-includes")
    (docroot / "wp-content").symlink_to(content)
    env = {
        **os.environ,
        "TRYON_WP_DB_NAME": database,
        "TRYON_WP_CONTENT": str(content),
        "TRYON_WP_SALT": secrets.token_hex(16),
    }
    log = (work / "php-server.log").open("wb")
    server = subprocess.Popen(
        ["php", "-S", "127.0.0.1:0", "-t", str(docroot), str(PLUGIN / "tests/e2e/router.php")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: ports.stop signals the group
    )
    try:
        yield f"http://127.0.0.1:{_listening_port(server.pid)}", env
    finally:
        try:
            ports.stop(server)
        finally:
            log.close()
            subprocess.run(
                ["php", str(PLUGIN / "tests/e2e/install.php"), "--drop"], env=env, check=False
            )


def test_the_widget_opens_and_tries_on_from_a_wordpress_product_page(tmp_path: Path) -> None:
    require("MariaDB", tcp_problem(os.environ.get("TRYON_WP_DB_HOST", "127.0.0.1"), 3306))
    _require_tools()
    with ExitStack() as stack:
        site, env = stack.enter_context(wordpress_site(tmp_path))
        gateway = stack.enter_context(running_gateway(tmp_path, origins=[site]))
        installed = subprocess.run(
            [
                "php",
                str(PLUGIN / "tests/e2e/install.php"),
                gateway.base_url,
                gateway.publishable_key,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert installed.returncode == 0, installed.stderr[-2000:]
        made = json.loads(installed.stdout.strip().splitlines()[-1])
        product = str(made["product"])
        black, gold = (str(made["variations"][c]) for c in ("Black", "Gold"))
        gateway.add_product(
            external_id=product,
            title="Round frames",
            variants=[
                (black, "Black", "glasses-round-black"),
                (gold, "Gold", "glasses-round-gold"),
            ],
        )
        photo = tmp_path / "photo.jpg"
        cv2.imwrite(str(photo), load_bgr("astronaut"), [cv2.IMWRITE_JPEG_QUALITY, 92])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # The page renders on its own first (a PHP error would show here, not as a timeout).
        page = httpx.get(
            f"{site}/?post_type=product&p={product}", follow_redirects=True, timeout=30
        )
        log = (tmp_path / "php-server.log").read_text(errors="replace")[-3000:]
        assert page.status_code == 200, f"{page.status_code} {page.text[:2000]}\n{log}"
        assert "data-tryon-product" in page.text, f"{page.text[:3000]}\n{log}"
        manifest = httpx.get(f"{gateway.base_url}/sdk/v1/manifest.json", timeout=10).json()
        config = {
            "page": f"{site}/?post_type=product&p={product}",
            "variation": gold,
            "photo": str(photo),
            "artifacts": str(ARTIFACTS),
            "playwright": PLAYWRIGHT.as_uri(),
        }
        out = run_browser_script(PLUGIN, "e2e/product-page.mjs", config)

    # The SDK came pinned and deferred, configured by the plugin's settings.
    sdk = manifest["files"]["tryon.js"]
    assert out["sdk_tag"] == {
        "src": sdk["url"],
        "integrity": sdk["integrity"],
        "defer": True,
        "crossorigin": "anonymous",
    }
    # The hostile-looking product name is shown as text, and the button is there.
    assert out["title"] == 'Round frames "Lune" <b>'
    assert out["label"] == "Try it on"
    # The placeholder followed the variation form; the try-on was for that variation.
    assert out["initial"] == {"product": product, "variant": black}
    assert out["after_pick"] == {"product": product, "variant": gold}
    assert out["session_request"]["product_id"] == product
    assert out["session_request"]["variant_id"] == gold
    assert out["tryon_status"] == 200
    # The session went into the add-to-cart form, where the plugin takes it as cart item data.
    assert out["hidden_after_tryon"] == out["session"]
    # The page's own "Add to cart": reported once with TryOn.addedToCart, whose answer (this
    # page's widget session) the form posts for the plugin to keep as `_tryon_widget_session`.
    (added,) = out["own_button"]["added"]
    assert added["add"] == {"productId": product, "variantId": gold, "quantity": 1}
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", added["id"])
    (posted,) = out["own_button"]["posted"]
    assert posted["tryon_widget_session"] == added["id"]
    assert posted["tryon_session"] == out["session"]
    assert not [p for p in out["problems"] if "favicon" not in p], out["problems"]
