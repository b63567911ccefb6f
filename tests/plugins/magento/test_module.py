"""The Magento module's static checks (``scripts/plugins/check_magento_module.py``) on the
real module, and that each check fails where it must: an unescaped echo in a template, XML
that is not well formed or outside our schemas, PHP that does not parse."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.plugins import check_magento_module as checks

pytestmark = pytest.mark.skipif(
    shutil.which("php") is None and os.environ.get("CI") != "true",
    reason="php-cli is not installed (make php-tools)",
)


def test_the_module_passes_every_check() -> None:
    assert checks.check() == []


@pytest.mark.parametrize(
    "template",
    [
        "<?= $block->getName() ?>",
        "<?= $escaper->escapeHtml($a) . $b ?>",
        "<?= $b . $escaper->escapeHtml($a) ?>",
        "<?= $escaper->escapeHtml($a), $b ?>",
        "<?php echo $product->getName(); ?>",
        "<?php echo $escaper->escapeHtml($a), $b; ?>",
        "<?php print $x; ?>",
        "<?php printf('%s', $x); ?>",
        "<?= $escaper->noEscape($x) ?>",
        "<?= $other->escapeHtml($x) ?>",
        "<?= ($escaper->escapeHtml($x)) ?>",
        "<?= $escaper->escapeHtml($x)[0] ?>",
        "<div><?php if ($a) { echo $a; } ?></div>",
    ],
)
def test_unescaped_output_is_found(tmp_path: Path, template: str) -> None:
    path = tmp_path / "bad.phtml"
    path.write_text(template)
    assert checks.escaping_problems(path), template


@pytest.mark.parametrize(
    "template",
    [
        "<?= $escaper->escapeHtml($a) ?>",
        '<a href="<?= $escaper->escapeUrl($url) ?>"><?= $escaper->escapeHtml(__("Go")) ?></a>',
        "<?php echo $escaper->escapeHtmlAttr($a->b(1, [2])); ?>",
        "<?php /* echo $x; */ ?><p>echo $x;</p>",
    ],
)
def test_escaped_output_passes(tmp_path: Path, template: str) -> None:
    path = tmp_path / "good.phtml"
    path.write_text(template)
    assert checks.escaping_problems(path) == []


def _copy(tmp_path: Path) -> Path:
    module = tmp_path / "magento"
    shutil.copytree(checks.MODULE, module)
    return module


def test_xml_outside_our_schemas_or_broken_is_found(tmp_path: Path) -> None:
    module = _copy(tmp_path)
    api = module / "etc/integration/api.xml"
    api.write_text(
        api.read_text().replace("Magento_Sales::sales_order", "Magento_Customer::customer")
    )
    config = module / "etc/integration/config.xml"
    config.write_text(config.read_text().replace("/platforms/magento/activate", "/elsewhere"))
    (module / "etc/di.xml").write_text("<config><type></config>")
    problems = checks.check(module)
    assert any("api.xml" in p and "Magento_Customer" in p for p in problems), problems
    assert any("config.xml" in p and "endpoint_url" in p for p in problems), problems
    assert any("di.xml" in p and "not well formed" in p for p in problems), problems


def test_php_that_does_not_parse_is_found(tmp_path: Path) -> None:
    module = _copy(tmp_path)
    (module / "Model/Signer.php").write_text("<?php\nclass {")
    assert any("Signer.php" in p for p in checks.check(module))


def test_the_script_exits_non_zero_on_a_problem(tmp_path: Path) -> None:
    module = _copy(tmp_path)
    (module / "view/frontend/templates/button.phtml").write_text("<?= $x ?>")
    done = subprocess.run(
        ["python", str(Path(checks.__file__)), "--module", str(module)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "not escaped" in done.stdout
