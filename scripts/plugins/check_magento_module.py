"""Static checks of the Magento module (plugins/magento), run by ``make test-plugins-magento``.

1. ``php -l`` on every ``.php`` and ``.phtml`` file;
2. every ``.xml`` file well formed (``xml.etree``), and the ones with a schema of ours
   (``Test/Schema``) valid against it (libxml through PHP's DOMDocument::schemaValidate);
3. every echo in every ``.phtml`` (``<?=``, ``echo``, ``print``) is exactly one call of an
   ``$escaper->escape*`` method: the whole output expression, not a part of it; ``printf``,
   ``print_r``, ``var_dump`` and ``var_export`` are refused outright. PHP's own tokenizer
   (``token_get_all``) reads the templates, so strings and comments cannot hide an echo.

Exits 1 with one line per problem. PHPUnit and phpcs run from the make target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "magento"
SCHEMAS = {
    "etc/module.xml": "Test/Schema/module.xsd",
    "etc/integration/config.xml": "Test/Schema/integration-config.xsd",
    "etc/integration/api.xml": "Test/Schema/integration-api.xsd",
}
ESCAPERS = frozenset({"escapeHtml", "escapeHtmlAttr", "escapeUrl", "escapeJs", "escapeCss"})
FORBIDDEN_CALLS = frozenset({"printf", "vprintf", "print_r", "var_dump", "var_export"})
_TOKENS_PHP = (
    "echo json_encode(array_map(fn($t) => is_array($t) ? [token_name($t[0]), $t[1], $t[2]]"
    " : ['CHAR', $t, 0], token_get_all(file_get_contents($argv[1]))));"
)
_VALIDATE_PHP = (
    "libxml_use_internal_errors(true); $d = new DOMDocument();"
    " $d->load($argv[1], LIBXML_NONET);"
    " if ($d->schemaValidate($argv[2])) { exit(0); }"
    " foreach (libxml_get_errors() as $e) { fwrite(STDERR, trim($e->message) . ' (line '"
    " . $e->line . ')' . PHP_EOL); } exit(1);"
)

Token = tuple[str, str, int]


def php_lint(path: Path) -> list[str]:
    done = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, check=False)
    return [] if done.returncode == 0 else [f"{path}: {done.stdout.strip() or done.stderr.strip()}"]


def xml_problems(path: Path, module: Path) -> list[str]:
    try:
        ET.parse(path)
    except ET.ParseError as exc:
        return [f"{path}: not well formed: {exc}"]
    schema = SCHEMAS.get(path.relative_to(module).as_posix())
    if schema is None:
        return []
    done = subprocess.run(
        ["php", "-r", _VALIDATE_PHP, str(path), str(module / schema)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [] if done.returncode == 0 else [f"{path}: {line}" for line in done.stderr.splitlines()]


def tokens(path: Path) -> list[Token]:
    done = subprocess.run(
        ["php", "-r", _TOKENS_PHP, str(path)], capture_output=True, text=True, check=True
    )
    return [(str(t[0]), str(t[1]), int(t[2])) for t in json.loads(done.stdout)]


def _significant(found: list[Token]) -> list[Token]:
    return [t for t in found if t[0] not in {"T_WHITESPACE", "T_COMMENT", "T_DOC_COMMENT"}]


def _is_escaped(expression: list[Token]) -> bool:
    """``$escaper->escapeX( ... )`` and nothing before or after the call's own parentheses."""
    expr = _significant(expression)
    if expr and expr[-1] == ("CHAR", ";", 0):
        expr = expr[:-1]
    if len(expr) < 5:
        return False
    variable, arrow, method, opening = expr[:4]
    if (variable[0], variable[1]) != ("T_VARIABLE", "$escaper"):
        return False
    if arrow[0] != "T_OBJECT_OPERATOR" or method[0] != "T_STRING" or method[1] not in ESCAPERS:
        return False
    if opening[1] != "(":
        return False
    depth = 0
    for index, token in enumerate(expr[3:], start=3):
        if token[1] in {"(", "[", "{"} or token[0] in {
            "T_CURLY_OPEN",
            "T_DOLLAR_OPEN_CURLY_BRACES",
        }:
            depth += 1
        elif token[1] in {")", "]", "}"}:
            depth -= 1
            if depth == 0:
                return index == len(expr) - 1
    return False


def escaping_problems(path: Path, found: list[Token] | None = None) -> list[str]:
    """Every output of the template goes through one escaper call (see the module doc)."""
    found = tokens(path) if found is None else found
    problems: list[str] = []
    index = 0
    while index < len(found):
        kind, text, line = found[index]
        if kind == "T_STRING" and text.lower() in FORBIDDEN_CALLS:
            problems.append(f"{path}:{line}: {text}() writes unescaped output")
        if kind in {"T_OPEN_TAG_WITH_ECHO", "T_ECHO", "T_PRINT"}:
            end = index + 1
            depth = 0
            while end < len(found):
                token = found[end]
                if token[1] in {"(", "["}:
                    depth += 1
                elif token[1] in {")", "]"}:
                    depth -= 1
                if token[0] == "T_CLOSE_TAG" or (depth == 0 and token[1] in {";", ","}):
                    break
                end += 1
            expression = found[index + 1 : end]
            if end < len(found) and found[end][1] == ",":
                problems.append(f"{path}:{line}: echo with several arguments")
            elif not _is_escaped(expression):
                shown = "".join(t[1] for t in expression).strip()[:80]
                problems.append(f"{path}:{line}: output not escaped with $escaper: {shown}")
            index = end
        index += 1
    return problems


def check(module: Path = MODULE) -> list[str]:
    problems: list[str] = []
    for path in sorted(module.rglob("*")):
        if path.suffix in {".php", ".phtml"}:
            problems += php_lint(path)
        if path.suffix in {".xml", ".xsd"}:
            problems += xml_problems(path, module)
        if path.suffix == ".phtml":
            problems += escaping_problems(path)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--module", type=Path, default=MODULE)
    args = parser.parse_args(argv)
    problems = check(args.module)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    files = sum(1 for p in args.module.rglob("*") if p.is_file())
    print(f"magento module: {files} files; php -l, XML (schemas: {len(SCHEMAS)}), escaping: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
