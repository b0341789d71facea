"""What may not go back: the shop's returnability rules and the platform's own flag.

A line of an order is not returnable when the shop's platform said so (``OrderLine.returnable``,
from the import or the API), or when an active rule of the shop matches its SKU (a glob such
as ``GIFT-*``) or one of its tags; a rule with ``window_days`` lets the line go back only within
that many days of delivery. When several limits apply, the strictest counts.

The statutory right of withdrawal (EU, 14 days) is not the shop's to narrow: for a withdrawal
only the legal exceptions count (sealed hygiene goods, goods made to the customer's
specification), whatever else the rules or the platform say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from sqlalchemy import select

from domain.statuses import LEGAL_EXCEPTIONS, NOT_RETURNABLE
from extensions import db
from models import Order, OrderLine, ReturnabilityRule, Shop


@dataclass(frozen=True)
class Limit:
    """Why a line may not go back (``reason``, a code of ``NON_RETURNABLE_REASONS``): never,
    when ``closes_at`` is ``None``, else not after ``closes_at``."""

    reason: str
    closes_at: datetime | None = None

    @property
    def never(self) -> bool:
        return self.closes_at is None

    def closed(self, now: datetime) -> bool:
        return self.never or now > self.closes_at  # type: ignore[operator]


def line_tags(line: OrderLine) -> set[str]:
    """The line's tags, as rules compare them: trimmed and lower case."""
    return {tag.strip().lower() for tag in (line.tags or "").split(",") if tag.strip()}


def normal_tags(tags: list[str] | str | None) -> str | None:
    """Tags as an order line stores them ("final-sale,hygiene"), from a list or a text."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = sorted({tag.strip().lower() for tag in tags or () if tag.strip()})
    return ",".join(cleaned) or None


def active_rules(shop: Shop) -> list[ReturnabilityRule]:
    return list(
        db.session.scalars(
            select(ReturnabilityRule)
            .where(ReturnabilityRule.shop_id == shop.id, ReturnabilityRule.active.is_(True))
            .order_by(ReturnabilityRule.id)
        )
    )


def rule_matches(rule: ReturnabilityRule, line: OrderLine) -> bool:
    if rule.sku_pattern and fnmatchcase(line.sku.lower(), rule.sku_pattern.lower()):
        return True
    return bool(rule.tag) and (rule.tag or "").strip().lower() in line_tags(line)


def line_limits(order: Order, shop: Shop, *, is_withdrawal: bool = False) -> dict[int, Limit]:
    """``{order_line_id: limit}`` for the lines of the order that a limit applies to. A rule's
    own window counts from delivery: before it, only the rules without a window apply."""
    rules = active_rules(shop)
    delivered = order.delivered_at
    if delivered is not None and delivered.tzinfo is None:
        delivered = delivered.replace(tzinfo=UTC)  # SQLite gives naive datetimes, stored as UTC
    limits = {}
    for line in order.lines:
        found = [
            rule_limit(rule, delivered)
            for rule in rules
            if rule_matches(rule, line) and (rule.window_days is None or delivered is not None)
        ]
        if not line.returnable:
            found.append(Limit(NOT_RETURNABLE))
        if is_withdrawal:
            found = [limit for limit in found if limit.reason in LEGAL_EXCEPTIONS]
        if found:
            limits[line.id] = strictest(found)
    return limits


def rule_limit(rule: ReturnabilityRule, delivered: datetime | None) -> Limit:
    if rule.window_days is None or delivered is None:
        return Limit(rule.reason)
    return Limit(rule.reason, delivered + timedelta(days=rule.window_days))


def strictest(limits: list[Limit]) -> Limit:
    """A limit without a window beats any window; of windows, the one that closes first."""
    never = [limit for limit in limits if limit.never]
    if never:
        return never[0]
    return min(limits, key=lambda limit: limit.closes_at)  # type: ignore[arg-type,return-value]
