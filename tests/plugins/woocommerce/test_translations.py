"""Translations ready: every string the plugin shows goes through WordPress's i18n functions
with the plugin's text domain, and the shipped template (languages/*.pot, made by xgettext)
has them all."""

from __future__ import annotations

import re
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "woocommerce" / "tryon-for-woocommerce"
CALL = re.compile(
    r"\b(?:__|_e|esc_html__|esc_attr__|esc_html_e|esc_attr_e)\(\s*'((?:[^'\\]|\\.)*)'\s*,\s*'([^']*)'\s*\)",
    re.S,
)


def test_every_string_uses_the_text_domain_and_is_in_the_template() -> None:
    pot = (PLUGIN / "languages" / "tryon-for-woocommerce.pot").read_text()
    found = []
    for source in sorted(PLUGIN.rglob("*.php")):
        for text, domain in CALL.findall(source.read_text()):
            assert domain == "tryon-for-woocommerce", (source.name, text)
            found.append(text)
            assert f'msgid "{text}"' in pot or text[:40] in pot, (source.name, text)
    assert len(found) >= 15
    header = (PLUGIN / "tryon-for-woocommerce.php").read_text()
    assert "Text Domain:       tryon-for-woocommerce" in header
    assert "Domain Path:       /languages" in header
