"""Notice rules (meldingen): conditions, evaluation, the stored notices and the rules' acts.

A ``NoticeRule`` holds a list of conditions (``{"kind": ..., params}`` dicts) that must all
hold. ``CONDITIONS`` is the registry of kinds: each one a small function, a label for the
editor and the parameters the editor asks for. Evaluating a request keeps its rule-raised
``Notice`` rows in step with the rules (manual notices are left alone); a rule that starts to
match may also act on the request: ``workflow.run_notice_rules`` performs its action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from domain import audit
from domain.statuses import APPROVE
from extensions import db
from models import (
    CONCEPT,
    NEW,
    Notice,
    NoticeRule,
    ReturnRequest,
    Shop,
    User,
)

log = logging.getLogger(__name__)

# A warning or danger notice asks for a person: a rule does not approve past it. The words of
# the severities and of the rules' actions (``FREE_SHIPPING_ON``…) are in statuses.py.
BLOCKING_SEVERITIES = ("warning", "danger")
# Rules act only on requests nobody is working on yet; a held request belongs to its holder.
ACTIONABLE_STATUSES = (NEW, CONCEPT)


@dataclass(frozen=True)
class Param:
    """One parameter of a condition, as the rule editor asks for it.

    ``kind`` is ``int`` (a whole number), ``money`` (stored in cents, edited in the currency),
    ``words`` (a list of words, edited comma-separated) or ``reasons`` (return reason codes).
    """

    name: str
    kind: str
    label: str


@dataclass(frozen=True)
class Condition:
    kind: str
    check: Callable[[ReturnRequest, dict], bool]
    label: str
    params: tuple[Param, ...] = ()


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def free_exchange(request: ReturnRequest, params: dict) -> bool:
    """The founding document's example: the customer chose an exchange that ships free."""
    return request.resolution == "exchange" and bool(request.free_shipping)


def order_value_above(request: ReturnRequest, params: dict) -> bool:
    """The whole order (not only the returned lines) is worth more than ``amount`` cents."""
    return request.order.total_cents > int(params.get("amount", 0))


def after_return_window(request: ReturnRequest, params: dict) -> bool:
    """Requested at least ``days`` days after the return window closed.

    The window runs from the delivery date for ``shop.return_window_days`` days; without a
    delivery date nobody can tell, so the condition does not hold.
    """
    delivered_at = request.order.delivered_at
    if delivered_at is None:
        return False
    closes = as_utc(delivered_at) + timedelta(days=request.shop.return_window_days)
    requested = as_utc(request.created_at or datetime.now(UTC))
    return requested > closes and requested - closes >= timedelta(days=int(params.get("days", 0)))


def customer_repeat(request: ReturnRequest, params: dict) -> bool:
    """The customer (same email, same shop) made ``count`` or more requests in ``days`` days.

    This request counts as one of them.
    """
    requested = as_utc(request.created_at or datetime.now(UTC))
    since = requested - timedelta(days=int(params.get("days", 30)))
    query = select(func.count(ReturnRequest.id)).where(
        ReturnRequest.shop_id == request.shop_id,
        func.lower(ReturnRequest.customer_email) == request.customer_email.lower(),
        ReturnRequest.created_at >= since,
        ReturnRequest.created_at <= requested,
    )
    if request.id is not None:
        query = query.where(ReturnRequest.id != request.id)
    with db.session.no_autoflush:
        earlier = db.session.scalar(query) or 0
    return earlier + 1 >= int(params.get("count", 2))


def reason_in(request: ReturnRequest, params: dict) -> bool:
    """Some line gives one of the chosen return reasons (by code)."""
    codes = set(params.get("codes", []))
    return any(line.reason is not None and line.reason.code in codes for line in request.lines)


def more_items_than(request: ReturnRequest, params: dict) -> bool:
    """More than ``count`` items in total (quantities added up over the lines)."""
    return sum(line.quantity for line in request.lines) > int(params.get("count", 0))


def comment_contains(request: ReturnRequest, params: dict) -> bool:
    """A line's comment contains one of ``words``, ignoring case."""
    words = [word.lower() for word in params.get("words", []) if word.strip()]
    comments = [(line.comment or "").lower() for line in request.lines]
    return any(word in comment for word in words for comment in comments)


def photo_missing(request: ReturnRequest, params: dict) -> bool:
    """A line whose reason asks for a photo came without one."""
    return any(
        line.reason is not None and line.reason.requires_photo and not line.photos
        for line in request.lines
    )


CONDITIONS: dict[str, Condition] = {
    condition.kind: condition
    for condition in (
        Condition("free_exchange", free_exchange, _l("Customer chose a free exchange")),
        Condition(
            "order_value_above",
            order_value_above,
            _l("Order value above"),
            (Param("amount", "money", _l("Amount")),),
        ),
        Condition(
            "after_return_window",
            after_return_window,
            _l("Requested after the return window"),
            (Param("days", "int", _l("By at least (days)")),),
        ),
        Condition(
            "customer_repeat",
            customer_repeat,
            _l("Customer has several requests"),
            (
                Param("count", "int", _l("Number of requests (or more)")),
                Param("days", "int", _l("In the last (days)")),
            ),
        ),
        Condition(
            "reason_in",
            reason_in,
            _l("Return reason is one of"),
            (Param("codes", "reasons", _l("Reasons")),),
        ),
        Condition(
            "more_items_than",
            more_items_than,
            _l("More items than"),
            (Param("count", "int", _l("Number of items")),),
        ),
        Condition(
            "comment_contains",
            comment_contains,
            _l("Customer comment contains"),
            (Param("words", "words", _l("Words (comma-separated)")),),
        ),
        Condition("photo_missing", photo_missing, _l("Photo missing where the reason asks one")),
    )
}


def rule_matches(rule: NoticeRule, request: ReturnRequest) -> bool:
    """All of the rule's conditions hold. A rule without conditions never matches: an empty
    rule must not flag (or approve) every request."""
    conditions = rule.conditions or []
    if not conditions:
        return False
    for condition in conditions:
        known = CONDITIONS.get(condition.get("kind"))
        if known is None:
            log.warning("rule %s has an unknown condition %r", rule.id, condition.get("kind"))
            return False
        if not known.check(request, condition):
            return False
    return True


def rules_for_shop(shop_id: int) -> list[NoticeRule]:
    """Active rules of the shop plus the global ones, oldest first."""
    query = (
        select(NoticeRule)
        .where(NoticeRule.active.is_(True))
        .where(or_(NoticeRule.shop_id == shop_id, NoticeRule.shop_id.is_(None)))
        .order_by(NoticeRule.id)
    )
    with db.session.no_autoflush:
        return list(db.session.scalars(query))


def evaluate(request: ReturnRequest) -> list[tuple[NoticeRule, bool]]:
    """Every rule that applies to the request's shop, with whether it matches. Writes nothing."""
    return [(rule, rule_matches(rule, request)) for rule in rules_for_shop(request.shop_id)]


def rule_label(rule: NoticeRule) -> str:
    """How a rule shows as the actor of what it did, e.g. ``rule 'Under €20, refund'``."""
    return f"rule '{rule.name}'"


def apply_rules(
    request: ReturnRequest,
    actor_label: str | None,
    act: Callable[[NoticeRule, ReturnRequest], None],
) -> list[Notice]:
    """Bring the request's rule notices in step with the rules, then let new matches act.

    Idempotent: a matching rule keeps exactly one notice, a rule that no longer matches (or
    was switched off or deleted) loses its notice, manual notices stay. Only a rule that
    *starts* matching acts, so re-evaluating never undoes what an agent changed since; what
    the acts changed is then read once more, without acting again.
    ``actor_label`` says what triggered the evaluation; it is noted on the audit events.
    ``act`` performs a rule's action: ``workflow.run_notice_rules`` passes the workflow's.
    Returns the notices raised by this evaluation.
    """
    raised = sync_notices(request, actor_label)
    acting = [rule for notice in raised if (rule := notice.rule) is not None and rule.action]
    for rule in acting:
        act(rule, request)
    if acting:
        raised += sync_notices(request, actor_label)
    return raised


def sync_notices(request: ReturnRequest, trigger: str | None) -> list[Notice]:
    """Add and remove rule notices so they match the rules now; returns the new ones."""
    db.session.add(request)
    db.session.flush()
    matched = [rule for rule, is_match in evaluate(request) if is_match]
    matched_ids = {rule.id for rule in matched}
    for notice in list(request.notices):
        if notice.rule_id is not None and notice.rule_id not in matched_ids:
            request.notices.remove(notice)
            audit_notice(request, "notice_cleared", notice.rule, trigger)
    standing = {notice.rule_id: notice for notice in request.notices if notice.rule_id}
    raised = []
    for rule in matched:
        if rule.id in standing:
            copy_rule_text(rule, standing[rule.id])
            continue
        notice = Notice(rule_id=rule.id, rule=rule)
        copy_rule_text(rule, notice)
        request.notices.append(notice)
        raised.append(notice)
        audit_notice(request, "notice_raised", rule, trigger)
    request.notice_count = len(request.notices)
    db.session.flush()
    return raised


def copy_rule_text(rule: NoticeRule, notice: Notice) -> None:
    notice.severity = rule.severity
    notice.text_nl = rule.message_nl
    notice.text_en = rule.message_en


def audit_notice(
    request: ReturnRequest, action: str, rule: NoticeRule | None, trigger: str | None
) -> None:
    actor = audit.Actor(label=rule_label(rule) if rule else None)
    audit.record(request, actor, action, note=trigger)


def has_blocking_notice(request: ReturnRequest) -> bool:
    """A warning or danger notice stands: a person must look before it is approved."""
    return any(notice.severity in BLOCKING_SEVERITIES for notice in request.notices)


def add_manual_notice(
    request: ReturnRequest, author: User, severity: str, text_nl: str, text_en: str
) -> Notice:
    """A one-off notice on a single request, added by support; rules never remove it."""
    notice = Notice(author=author, severity=severity, text_nl=text_nl, text_en=text_en)
    request.notices.append(notice)
    request.notice_count = len(request.notices)
    audit.record(request, author, "notice_added", note=text_en)
    return notice


def remove_manual_notice(notice: Notice, actor: User) -> None:
    request = notice.request
    request.notices.remove(notice)
    request.notice_count = len(request.notices)
    audit.record(request, actor, "notice_removed", note=notice.text_en)


@dataclass(frozen=True)
class DryRunHit:
    request: ReturnRequest
    action: str | None


def dry_run(rule: NoticeRule, shop: Shop, limit: int = 100) -> list[DryRunHit]:
    """Which of the shop's last ``limit`` requests the rule would flag, and act on.

    Reads only: ``rule`` may be an unsaved rule from the editor, and nothing is written. An
    action shows only where the rule would really act (an open request nobody holds).
    """
    with db.session.no_autoflush:
        recent = db.session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.shop_id == shop.id)
            .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
            .limit(limit)
        ).all()
        return [
            DryRunHit(request, would_act(rule, request))
            for request in recent
            if rule_matches(rule, request)
        ]


def would_act(rule: NoticeRule, request: ReturnRequest) -> str | None:
    if not rule.action or request.status not in ACTIONABLE_STATUSES or request.held_by_id:
        return None
    if rule.action == APPROVE and (
        has_blocking_notice(request) or rule.severity in BLOCKING_SEVERITIES
    ):
        return None
    return rule.action


FREE_EXCHANGE_RULE = "Customer chose a free exchange"


def seed_default_rules(shop: Shop) -> NoticeRule:
    """The founding document's example notice, for a new shop (once)."""
    existing = db.session.scalar(
        select(NoticeRule).where(
            NoticeRule.shop_id == shop.id, NoticeRule.name == FREE_EXCHANGE_RULE
        )
    )
    if existing:
        return existing
    rule = NoticeRule(
        shop_id=shop.id,
        name=FREE_EXCHANGE_RULE,
        conditions=[{"kind": "free_exchange"}],
        severity="info",
        message_nl="Let op: de klant heeft gekozen voor gratis ruilen. "
        "Deze retour wordt kosteloos aangemaakt.",
        message_en="Note: the customer chose a free exchange. "
        "This return is created free of charge.",
    )
    db.session.add(rule)
    return rule
