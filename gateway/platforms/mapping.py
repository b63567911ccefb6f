"""Category rules: which of a store's products are tried on as what.

A rule says "products whose product type / tag / collection is VALUE are CATEGORY"; values
compare case-insensitively after trimming. Rules are tried by ``position`` (then age); the
first that matches wins. A product no rule matches is not imported (see ``sync``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.platforms.models import CategoryRule, RuleField
from gateway.platforms.protocol import CatalogProduct
from gateway.products.models import Category
from gateway.stores.models import Store

MAX_RULES = 200


def _norm(value: str) -> str:
    return value.strip().casefold()


def rules_of(*, session: Session, store_id: uuid.UUID) -> list[CategoryRule]:
    """The store's rules in the order they are tried."""
    return list(
        session.scalars(
            select(CategoryRule)
            .where(CategoryRule.store_id == store_id)
            .order_by(CategoryRule.position, CategoryRule.created_at, CategoryRule.id)
        )
    )


def category_for(rules: Sequence[CategoryRule], product: CatalogProduct) -> Category | None:
    """The category of the first rule ``product`` matches, or None."""
    values = {
        RuleField.PRODUCT_TYPE: {_norm(product.product_type or "")} - {""},
        RuleField.TAG: {_norm(t) for t in product.tags} - {""},
        RuleField.COLLECTION: {_norm(c) for c in product.collections} - {""},
    }
    for rule in rules:
        if _norm(rule.value) in values[rule.field]:
            return rule.category
    return None


def add_rule(
    *,
    session: Session,
    store: Store,
    field: RuleField | str,
    value: str,
    category: Category | str,
    position: int | None = None,
) -> CategoryRule:
    """Add a rule (``Conflict`` when the store has one for that field and value)."""
    value = value.strip()
    if not value or len(value) > 255:
        raise InvalidInput("A rule's value is 1 to 255 characters")
    try:
        field, category = RuleField(field), Category(category)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    existing = rules_of(session=session, store_id=store.id)
    if len(existing) >= MAX_RULES:
        raise InvalidInput(f"A store has at most {MAX_RULES} rules")
    if any(r.field == field and _norm(r.value) == _norm(value) for r in existing):
        raise Conflict(f"The store already maps {field.value} {value!r}")
    if position is None:
        position = (
            session.scalar(
                select(func.max(CategoryRule.position)).where(CategoryRule.store_id == store.id)
            )
            or 0
        ) + 1
    rule = CategoryRule(
        merchant_id=store.merchant_id,
        store_id=store.id,
        field=field,
        value=value,
        category=category,
        position=position,
    )
    session.add(rule)
    session.flush()
    return rule


def delete_rule(*, session: Session, store: Store, rule_id: uuid.UUID) -> None:
    """Remove one of the store's rules; ``NotFound`` for another store's."""
    rule = session.scalar(
        select(CategoryRule).where(CategoryRule.id == rule_id, CategoryRule.store_id == store.id)
    )
    if rule is None:
        raise NotFound("No such category rule")
    session.delete(rule)
    session.flush()


def replace_rules(
    *, session: Session, store: Store, rules: Sequence[tuple[str, str, str]]
) -> list[CategoryRule]:
    """Replace all of the store's rules with ``(field, value, category)`` in order."""
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"A store has at most {MAX_RULES} rules")
    for rule in rules_of(session=session, store_id=store.id):
        session.delete(rule)
    session.flush()
    return [
        add_rule(session=session, store=store, field=f, value=v, category=c, position=i)
        for i, (f, v, c) in enumerate(rules)
    ]
