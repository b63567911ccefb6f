"""Shopify's theme-check (@shopify/theme-check-node, its theme-app-extension config) passes on
the extension with no error, and does fail on the mistakes it is there to catch."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.shopify.liquid_shopify import EXTENSION, PLUGIN


def theme_check(root: Path) -> tuple[int, dict[str, Any]]:
    if not (PLUGIN / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        pytest.fail("plugins/shopify/node_modules is missing: make plugins-deps")
    done = subprocess.run(
        ["node", "scripts/theme-check.mjs", str(root), "--json"],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_the_extension_has_no_offense() -> None:
    code, report = theme_check(EXTENSION)
    assert report["offenses"] == []
    assert code == 0
    # Both blocks and the four locale files were read.
    assert report["files"] >= 6


def test_theme_check_fails_on_broken_copies(tmp_path: Path) -> None:
    broken = tmp_path / "tryon-theme"
    shutil.copytree(EXTENSION, broken)
    block = broken / "blocks" / "tryon-button.liquid"
    text = block.read_text()
    text = text.replace("'tryon.cart.failed' | t", "'tryon.cart.nothing' | t")
    text = text.replace("| join: ','", "| nosuchfilter", 1)
    block.write_text(text)
    script = broken / "assets" / "tryon-block.js"
    script.write_text(script.read_text() + "/*" + "x" * 10_000 + "*/")

    code, report = theme_check(broken)
    found = {o["check"] for o in report["offenses"] if o["severity"] == "error"}
    assert code == 1
    assert {"TranslationKeyExists", "UnknownFilter", "AssetSizeAppBlockJavaScript"} <= found
