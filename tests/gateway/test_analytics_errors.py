"""Analytics errors become problems in one place (``gateway.problems``): no other gateway
module catches one to raise a gateway error of its own, and each maps to its status."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from analytics import errors as analytics_errors
from analytics.ingest import MalformedBody
from gateway import errors as gateway_errors
from gateway.problems import from_analytics_error, to_gateway_error

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS_ERRORS = {
    name for name, obj in vars(analytics_errors).items() if inspect.isclass(obj)
} | {"MalformedBody"}
GATEWAY_ERRORS = {
    name
    for name, obj in vars(gateway_errors).items()
    if inspect.isclass(obj) and issubclass(obj, gateway_errors.GatewayError)
}


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    return {
        n.attr if isinstance(n, ast.Attribute) else n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name | ast.Attribute)
    }


def translations(path: Path) -> list[str]:
    """``except <analytics error>`` clauses in ``path`` whose body raises a gateway error."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ExceptHandler) and _names(node.type) & ANALYTICS_ERRORS:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and _names(inner.exc) & GATEWAY_ERRORS:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                    found.append(f"{where}:{node.lineno}")
    return found


def test_no_module_but_problems_maps_analytics_errors() -> None:
    offenders = [
        where
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        if path != ROOT / "gateway" / "problems.py"
        for where in translations(path)
    ]
    assert offenders == []


def test_the_scan_sees_a_translation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "try:\n    publish()\nexcept PublishRefused as exc:\n"
        "    raise ServiceUnavailable('busy') from None\n"
    )
    assert translations(bad) == ["bad.py:3"]


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (MalformedBody("not JSON", errors=[{"loc": ["body"]}]), 400, "bad-request"),
        (analytics_errors.InvalidEvents("bad event", errors=[]), 422, "invalid-input"),
        (analytics_errors.InvalidQuery("the range is reversed"), 422, "invalid-input"),
        (analytics_errors.BufferFull(pending=5, capacity=5, requested=1), 503, "unavailable"),
        (analytics_errors.PublisherClosed("closing"), 503, "unavailable"),
        (analytics_errors.WarehouseUnavailable("down"), 503, "dependency-unavailable"),
    ],
)
def test_each_analytics_error_has_its_status(
    error: analytics_errors.AnalyticsError, status: int, slug: str
) -> None:
    mapped = from_analytics_error(error)
    assert (mapped.status, mapped.slug) == (status, slug)
    assert to_gateway_error(error).status == status
    if status == 503:
        assert "Retry-After" in mapped.headers
    if status == 422:
        assert mapped.detail[0].isupper()
