"""The house rules on imports, as data (docs: ARCHITECTURE.md, STYLE.md).

- Components: ``ml_service`` and ``analytics`` never import ``gateway``; ``analytics`` never
  imports ``ml_service``.
- Shipped code (``gateway``, ``ml_service``, ``analytics``: what the wheel and the images
  carry) never reaches into ``scripts/`` or ``tests/``, by import or by path; ``scripts/``
  never imports ``tests/`` (what both need lives in ``testkit/``).
- Inside the gateway every top-level module and package is a *unit*, declared below with the
  units it may import. Building blocks (``INFRA``) import only building blocks; domain
  packages (``DOMAINS``) import building blocks and the domains they name; composition roots
  (``ROOTS``) import anything and nothing but a root imports them. The declared graph has no
  cycle, and the imports stay inside it, so the imports have no cycle either. A new domain is
  one line in ``DOMAINS``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"ml_service": {"gateway"}, "analytics": {"gateway", "ml_service"}}
SHIPPED = ("gateway", "ml_service", "analytics")
NOT_SHIPPED = {"scripts", "tests"}

# Building blocks: each may import the building blocks named.
INFRA: dict[str, set[str]] = {
    "errors": set(),
    "cli_errors": set(),
    "logging": set(),
    "metrics": set(),
    "middleware": set(),
    "origins": set(),
    "clients": set(),
    "serving": {"settings"},
    "websocket_protocol": set(),
    "storage": {"errors"},
    "settings": {"storage"},
    "cache": {"errors"},
    "memory": {"errors"},
    "images": {"errors", "memory"},
    "readcache": {"cache", "errors", "metrics"},
    "readiness": {"storage"},
    "ml": {"errors", "settings", "storage"},
    "problems": {"errors", "ml"},
    "db": {"settings"},
    "api": {"clients", "db", "errors", "origins", "problems", "readiness", "settings"},
}
# Domain packages: each may import every building block and the domains named.
DOMAINS: dict[str, set[str]] = {
    "merchants": set(),
    "keys": {"merchants"},
    "products": {"keys"},
    "assets": {"keys", "products", "runtime", "usage"},
    "sessions": set(),
    "stores": set(),
    "usage": {"keys", "merchants"},
    "limits": {"usage"},
    "runtime": {"keys", "limits"},
    "experiments": {"keys"},
    "widget": {
        *("assets", "experiments", "keys", "limits", "merchants", "products", "runtime"),
        *("sessions", "usage"),
    },
    "tryon": {
        *("assets", "keys", "limits", "products", "runtime", "sessions", "usage", "widget"),
    },
    "events": {"experiments", "keys", "merchants", "products", "widget"},
    "orders": {"events", "keys"},
    "platforms": {
        *("assets", "events", "keys", "merchants", "orders", "products", "runtime"),
        *("sessions", "stores", "usage"),
    },
    "web": {"keys", "merchants", "orders", "products"},
    "recommendations": {"assets", "events", "keys", "products", "runtime", "widget"},
}
# Composition roots: they wire everything together; ``<package>.<module>`` names a module that
# is a root inside a package (the mapper registry, the demo command that builds the app).
ROOTS = {"main", "cli", "migrations", "db.models", "web.cli"}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth (lazy imports count).
    ``from m import n`` gives ``m.n`` where that is a module of ours, ``m`` otherwise."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                inner = ROOT.joinpath(*node.module.split("."), alias.name)
                is_module = inner.with_suffix(".py").exists() or (inner / "__init__.py").exists()
                names.add(f"{node.module}.{alias.name}" if is_module else node.module)
    return names


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def path_parts(path: Path) -> set[str]:
    """String literals that are a path segment or start a relative path to a folder outside
    the shipped code (``"scripts"``, ``"tests/x.py"``); docstrings are prose, not paths."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            head = node.value.strip("/").split("/")[0]
            if head in NOT_SHIPPED:
                found.add(node.value)
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str, units: Iterable[str]) -> str | None:
    """The gateway unit a ``gateway.*`` module belongs to: the longest declared name that is
    a prefix of its path inside the gateway; its first part when none is declared."""
    parts = module.split(".")
    if parts[0] != "gateway" or len(parts) < 2:
        return None
    declared = set(units)
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[1:end])
        if name in declared:
            return name
    return parts[1]


def gateway_units() -> set[str]:
    """The gateway's top-level modules and packages (``gateway/__init__`` aside)."""
    base = ROOT / "gateway"
    return {
        p.stem if p.is_file() else p.name
        for p in base.iterdir()
        if (p.is_file() and p.suffix == ".py" and p.stem != "__init__")
        or (p.is_dir() and (p / "__init__.py").exists())
    }


def declared() -> dict[str, set[str]]:
    """Every unit and what it may import (roots: every unit)."""
    rules = dict(INFRA)
    for domain, others in DOMAINS.items():
        rules[domain] = set(INFRA) | others
    everything = set(INFRA) | set(DOMAINS) | ROOTS
    for root in ROOTS:
        rules[root] = everything - {root}
    return rules


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the files that import it."""
    rules = declared()
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        unit = unit_of(module_name(path), rules)
        if unit is None:
            continue
        for module in imported_modules(path):
            other = unit_of(module, rules)
            if other is None or other == unit:
                continue
            rel = str(path.relative_to(ROOT))
            graph.setdefault(unit, {}).setdefault(other, set()).add(rel)
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


# --- components -------------------------------------------------------------------------------


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_upper_ones(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert offenders == {}


@pytest.mark.parametrize("package", SHIPPED)
def test_shipped_code_never_reaches_into_scripts_or_tests(package: str) -> None:
    # The images copy only the shipped packages: a path into scripts/ cannot work there.
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            (imported_packages(path) & NOT_SHIPPED) | path_parts(path)
        )
        for path in (ROOT / package).rglob("*.py")
        if (imported_packages(path) & NOT_SHIPPED) or path_parts(path)
    }
    assert offenders == {}


def test_scripts_never_import_tests() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "tests"
        )
        for path in (ROOT / "scripts").rglob("*.py")
        if "tests" in imported_packages(path)
    }
    assert offenders == {}


def settings_classes(package: str) -> list[str]:
    """Classes in ``package`` that subclass ``BaseSettings`` by name."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) == "BaseSettings"
                for b in node.bases
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.name}")
    return found


@pytest.mark.parametrize("package", SHIPPED)
def test_one_settings_class_per_service(package: str) -> None:
    assert len(settings_classes(package)) == 1, settings_classes(package)


# --- the gateway's units ----------------------------------------------------------------------


def test_every_gateway_unit_is_declared() -> None:
    # A new package or module needs its line: what it may import is a decision, not an accident.
    units = {u.split(".")[0] for u in declared()}
    assert gateway_units() - units == set()
    assert units - gateway_units() == set(), "declared units that no longer exist"


def test_the_declared_layers_have_no_cycle() -> None:
    rules = {u: deps for u, deps in declared().items() if u not in ROOTS}
    assert find_cycle(rules) is None


def test_each_unit_imports_only_what_it_may() -> None:
    rules = declared()
    offenders = {
        f"{unit} -> {other}": sorted(files)
        for unit, edges in import_graph().items()
        for other, files in edges.items()
        if other not in rules.get(unit, set())
    }
    assert offenders == {}


def test_the_gateway_imports_have_no_cycle() -> None:
    graph = {unit: set(edges) for unit, edges in import_graph().items()}
    cycle = find_cycle(graph)
    where = (
        {f"{a} -> {b}": sorted(import_graph()[a][b]) for a, b in itertools.pairwise(cycle)}
        if cycle
        else {}
    )
    assert cycle is None, where


# --- the checks themselves --------------------------------------------------------------------


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from gateway.settings import get_settings\nimport gateway.main\n")
    assert imported_packages(bad) == {"gateway"}


def test_the_check_sees_a_path_into_scripts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Runs tests/ in CI."""\nfrom pathlib import Path\n'
        'SCRIPT = Path(__file__).parents[2] / "scripts" / "ml" / "x.py"\n'
        'FIXTURE = "tests/data/a.png"\nPROSE = "the tests pass"\n'
    )
    assert path_parts(bad) == {"scripts", "tests/data/a.png"}


def test_units_are_found_by_their_longest_declared_name() -> None:
    units = {"db", "db.models", "web", "web.cli"}
    assert unit_of("gateway.db.session", units) == "db"
    assert unit_of("gateway.db.models", units) == "db.models"
    assert unit_of("gateway.web.cli", units) == "web.cli"
    assert unit_of("gateway.web.demo.seed", units) == "web"
    assert unit_of("gateway.platforms.shopify", units) == "platforms"
    assert unit_of("ml_service.engine", units) is None


def test_a_cycle_is_found_and_named() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    # The four cycles of issue 11, as they were: each one is seen.
    for a, b in (("api", "widget"), ("api", "keys"), ("keys", "merchants"), ("assets", "products")):
        assert find_cycle({a: {b}, b: {a}}) in ([a, b, a], [b, a, b])
