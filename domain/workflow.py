"""The one state machine of a return request: the only place a status changes.

Every operation here checks the rule, updates the row only if nobody changed it in the
meantime (a conditional UPDATE on ``version``, so two agents clicking at once give exactly one
transition), writes an ``AuditEvent``, and writes its side effects (emails) as outbox rows in
the same transaction. The caller commits. Bulk operations do the same in set-based SQL.

An actor is a ``User``; rules, the customer and API keys act with ``actor=None`` and an
``actor_label`` that says who they are ("rule 'Under €20'", "customer", "API key 'shop'").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import (
    CursorResult,
    case,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import selectinload

from domain import (
    dashboard_marks,
    emails,
    notices,
    outbox_rows,
    refunds,
    ship_by,
    statuses,
    tenancy,
    webhook_events,
)
from domain.audit import Actor, as_actor, record
from domain.formatting import money
from domain.refunds import RefundChoice
from domain.statuses import return_status_label, status_label
from extensions import db
from models import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    DEFAULT_TIME_ZONE,
    DISPOSE,
    DISPOSITIONS,
    EXPIRED,
    LABEL_CREATED,
    LINE_CONDITIONS,
    MANUAL,
    NEW,
    ON_HOLD,
    OPEN_STATUSES,
    REFUND_CHOICES,
    REFUND_PARTIAL,
    REQUEST_STATUSES,
    RESOLUTIONS,
    RETURN_CANCELLED,
    RETURN_DELIVERED,
    RETURN_IN_TRANSIT,
    RETURN_LABEL_CREATED,
    RETURN_RECEIVED,
    RETURN_RESOLVED,
    AuditEvent,
    Notice,
    NoticeRule,
    OutboundEmail,
    Refund,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    ReviewStage,
    Shop,
    User,
    among_ids,
    new_token,
    next_number,
    on_postgresql,
    utcnow,
)

# A hold goes stale after the shop's number of working hours on these days and hours.
WORKDAY_OPENS, WORKDAY_CLOSES = 9, 17
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)

# (from, to) pairs the state machine allows; DESIGN.md "Request statuses".
TRANSITIONS = {
    (NEW, CONCEPT),
    (NEW, ON_HOLD),
    (NEW, APPROVED),
    (NEW, CANCELLED),
    (CONCEPT, NEW),
    (CONCEPT, ON_HOLD),
    (CONCEPT, APPROVED),
    (CONCEPT, CANCELLED),
    (ON_HOLD, NEW),
    (ON_HOLD, CONCEPT),
    (ON_HOLD, APPROVED),
    (ON_HOLD, CANCELLED),
    (APPROVED, LABEL_CREATED),
    (APPROVED, CANCELLED),
    (APPROVED, COMPLETED),
    (APPROVED, EXPIRED),
    (CANCELLED, NEW),
    (EXPIRED, APPROVED),
    (EXPIRED, CANCELLED),
    (LABEL_CREATED, APPROVED),
    (LABEL_CREATED, CANCELLED),
    (LABEL_CREATED, COMPLETED),
}
# What a user may do to one request, and where each action may start from; an action that
# changes the status leads to its ``ACTION_TARGETS`` entry, a pair TRANSITIONS allows.
# ``allowed_actions`` answers from this table and the rules below; the buttons, the bulk form
# and the API read that answer, the operations enforce the same rules.
ACTION_SOURCES = {
    "hold": (NEW, CONCEPT),
    "release": (ON_HOLD,),
    "take_over": (ON_HOLD,),
    "concept": (NEW, ON_HOLD),
    "back_to_new": (CONCEPT,),
    "approve": OPEN_STATUSES,
    "approve_keep": OPEN_STATUSES,
    "cancel": (*OPEN_STATUSES, APPROVED, LABEL_CREATED, EXPIRED),
    "reopen": (CANCELLED,),
    "new_ship_by": (EXPIRED,),
    "label_again": (LABEL_CREATED,),
    "settle": (APPROVED,),
    "free_shipping_on": (*OPEN_STATUSES, APPROVED),
    "free_shipping_off": (*OPEN_STATUSES, APPROVED),
    "stage": OPEN_STATUSES,
    "decide_line": OPEN_STATUSES,
    "renew_link": REQUEST_STATUSES,
    "message": REQUEST_STATUSES,
}
ACTION_TARGETS = {
    "hold": ON_HOLD,
    "concept": CONCEPT,
    "back_to_new": NEW,
    "approve": APPROVED,
    "approve_keep": APPROVED,
    "cancel": CANCELLED,
    "reopen": NEW,
    "new_ship_by": APPROVED,
    "label_again": APPROVED,
    "settle": COMPLETED,
}
# Where a bulk action may start from (a held request only for its holder): each a part of the
# action's ``ACTION_SOURCES``, narrower where the set-based UPDATE cannot do what one does.
# Its words are in statuses.py: REQUEST_ACTION_LABELS for the button, AUDIT_LABELS for what was done.
BULK_SOURCES = {
    "concept": (NEW,),
    "approve": (NEW, CONCEPT, ON_HOLD),
    "cancel": (NEW, CONCEPT, ON_HOLD),
    "hold": (NEW, CONCEPT),
    "release": (ON_HOLD,),
    "free_shipping_on": (NEW, CONCEPT, ON_HOLD, APPROVED),
    "free_shipping_off": (NEW, CONCEPT, ON_HOLD, APPROVED),
    "stage": (NEW, CONCEPT, ON_HOLD),
}


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackingEvent:
    """What a carrier says happened to a parcel (``services.labels`` parses it)."""

    tracking_number: str
    status: str
    occurred_at: datetime
    description: str = ""


class TransitionRefused(Exception):
    """The rule, a colleague's hold or a concurrent change refuses the operation.

    The message is translated and meant for the person who asked.
    """


class LineRefused(TransitionRefused):
    """A refusal of what was given for one request line: ``line_id`` and the refused
    ``field`` (named as the line's column), so a form or the API can point at it."""

    def __init__(self, message: str, line_id: int, field: str) -> None:
        super().__init__(message)
        self.line_id = line_id
        self.field = field


def revoke_public_token(req: ReturnRequest, actor: User | Actor) -> None:
    """Give the request a new customer link; the old one stops working at once.

    The submission key goes too: the portal's submit form carries it, and posting it again
    (a double click) leads to the request's current link, so a copy of the old form would
    lead to the new one. Every other customer link (label, reply, files) hangs off the token.
    """
    _enforce("renew_link", req, as_actor(actor))
    req.public_token = new_token()
    req.submission_key = None
    record(req, actor, "link_renewed")


def working_hours_ago(now: datetime, hours: int, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    """The moment that lies ``hours`` working hours before ``now``.

    Working hours are Monday to Friday, 9:00 to 17:00 in the shop's time zone, so a hold
    taken on Friday afternoon is not stale on Monday morning.
    """
    cursor = now.astimezone(zone)
    left = timedelta(hours=hours)
    while True:
        opens = cursor.replace(hour=WORKDAY_OPENS, minute=0, second=0, microsecond=0)
        closes = cursor.replace(hour=WORKDAY_CLOSES, minute=0, second=0, microsecond=0)
        if cursor.weekday() < 5 and cursor > opens:
            worked = min(cursor, closes) - opens
            if worked >= left:
                return (min(cursor, closes) - left).astimezone(UTC)
            left -= worked
        cursor = (opens - timedelta(days=1)).replace(hour=23, minute=59)


def hold_is_stale(request: ReturnRequest, now: datetime | None = None) -> bool:
    """A hold older than the shop's setting (in working hours) may be taken over by anyone."""
    if request.status != ON_HOLD or request.held_since is None:
        return False
    now = now or utcnow()
    held_since = request.held_since
    if held_since.tzinfo is None:
        held_since = held_since.replace(tzinfo=UTC)
    return held_since < working_hours_ago(now, request.shop.hold_stale_hours, request.shop.zone)


@dataclass(frozen=True)
class RequestFacts:
    """What the action rules read beyond the request's own row."""

    has_label: bool = False
    has_active_return: bool = False
    every_item_rejected: bool = False
    has_open_line: bool = False

    @classmethod
    def of(
        cls, line_counts: tuple[int, int, int], return_statuses: Collection[str]
    ) -> RequestFacts:
        """From the request's lines counted (all, rejected, still open) and its returns'
        statuses."""
        n_lines, n_rejected, n_open = line_counts
        return cls(
            has_label=bool(return_statuses),
            has_active_return=any(status != RETURN_CANCELLED for status in return_statuses),
            every_item_rejected=n_lines > 0 and n_rejected == n_lines,
            has_open_line=n_open > 0,
        )


def request_facts(ids: Collection[int]) -> dict[int, RequestFacts]:
    """The facts of these requests by id, in one query however many there are: per request
    its lines counted (how many, rejected, still open) and, beside them, its returns' statuses."""
    if not ids:
        return {}
    rejected = func.count().filter(ReturnRequestLine.decision == "rejected")
    still_open = func.count().filter(ReturnRequestLine.decision == "open")
    no_status = null().cast(Return.status.type)
    line_counts = (
        select(ReturnRequestLine.request_id, func.count(), rejected, still_open, no_status)
        .where(among_ids(ReturnRequestLine.request_id, ids))
        .group_by(ReturnRequestLine.request_id)
    )
    returns = select(Return.request_id, literal(0), literal(0), literal(0), Return.status).where(
        among_ids(Return.request_id, ids)
    )
    statuses: dict[int, list[str]] = {}
    lines: dict[int, tuple[int, int, int]] = {}
    for request_id, n_lines, n_rejected, n_open, status in db.session.execute(
        union_all(line_counts, returns)
    ):
        if status is None:
            lines[request_id] = (n_lines, n_rejected, n_open)
        else:
            statuses.setdefault(request_id, []).append(status)
    return {i: RequestFacts.of(lines.get(i, (0, 0, 0)), statuses.get(i, [])) for i in ids}


def facts_of(request: ReturnRequest) -> RequestFacts:
    """``request_facts`` of one request whose lines and returns are loaded already (the
    request page), read from them instead of asked again."""
    decisions = [line.decision for line in request.lines]
    counted = (len(decisions), decisions.count("rejected"), decisions.count("open"))
    return RequestFacts.of(counted, [shipment.status for shipment in request.returns])


# Why an action is refused, worded only when somebody reads it: ``allowed_actions`` asks every
# rule for every row of a list, and some wordings query (who decided the request).
Refusal = Callable[[], str]
Rule = Callable[[str, ReturnRequest, Actor, RequestFacts], Refusal | None]


def held_by_other(request: ReturnRequest, who: Actor) -> bool:
    """A colleague holds the request: nobody else changes it before an explicit take-over."""
    return (
        request.status == ON_HOLD
        and request.held_by_id is not None
        and (who.user is None or request.held_by_id != who.user.id)
    )


def _refused_if(condition: bool, refusal: Refusal) -> Refusal | None:
    return refusal if condition else None


def holder_name(request: ReturnRequest) -> str:
    """Who holds the request, as colleagues read it."""
    return request.held_by.name if request.held_by else ""


def _not_held_by_other(request: ReturnRequest, who: Actor) -> Refusal | None:
    return _refused_if(
        held_by_other(request, who),
        lambda: _("Held by %(name)s. Take it over first.", name=holder_name(request)),
    )


def _status_allows(
    action: str, request: ReturnRequest, refusal: Refusal | None = None
) -> Refusal | None:
    """Refused unless ``action`` may start from the request's status (``ACTION_SOURCES``);
    worded as ``refusal`` says or, for a transition, as the state machine words it."""
    if request.status in ACTION_SOURCES[action]:
        return None
    return refusal or (lambda: _transition_refusal(request, ACTION_TARGETS[action]))


def _free_hand(action: str, request: ReturnRequest, who: Actor) -> Refusal | None:
    """The rule most actions share: not a colleague's hold, and from the right status."""
    return _not_held_by_other(request, who) or _status_allows(action, request)


def _hold_rule(action, request, who, facts) -> Refusal | None:
    return (
        _refused_if(who.user is None, lambda: _("A hold names the colleague who works on it."))
        or _refused_if(
            request.status == ON_HOLD,
            lambda: _("Already held by %(name)s.", name=request.held_by.name),
        )
        or _status_allows(action, request)
    )


def _release_rule(action, request, who, facts) -> Refusal | None:
    return _status_allows(
        action, request, lambda: _("This request is not on hold.")
    ) or _not_held_by_other(request, who)


def _take_over_rule(action, request, who, facts) -> Refusal | None:
    return _refused_if(
        who.user is None or not may_take_over(request, who.user),
        lambda: _("You cannot take over this hold yet."),
    )


def _change_rule(action, request, who, facts) -> Refusal | None:
    return _free_hand(action, request, who)


def _approve_rule(action, request, who, facts) -> Refusal | None:
    return _free_hand(action, request, who) or _refused_if(
        facts.every_item_rejected,
        lambda: _("Every item is rejected: cancel the request instead."),
    )


def _cancel_rule(action, request, who, facts) -> Refusal | None:
    return _free_hand(action, request, who) or _refused_if(
        facts.has_active_return, lambda: _("A return label exists; cancel the return instead.")
    )


def _settle_rule(action, request, who, facts) -> Refusal | None:
    """A request approved with the items kept is settled on the request itself."""
    return _free_hand(action, request, who) or _refused_if(
        not request.keep_items, lambda: _("The return is settled when it is received.")
    )


def _label_again_rule(action, request, who, facts) -> Refusal | None:
    """After its return was cancelled, a request may go back to approved for a new label."""
    return _free_hand(action, request, who) or _refused_if(
        facts.has_active_return, lambda: _("The return is under way; cancel it first.")
    )


def _reopen_rule(action, request, who, facts) -> Refusal | None:
    """Reopening a cancelled request is for the shop's admins (the one tenancy rule)."""
    return _refused_if(
        who.user is None or not tenancy.is_admin_of(who.user, request.shop_id),
        lambda: _("Only a shop admin can reopen a cancelled request."),
    ) or _status_allows(action, request)


def _new_ship_by_rule(action, request, who, facts) -> Refusal | None:
    """An expired request is given a new ship-by date by the shop's staff, not by a rule."""
    return _refused_if(
        who.user is None, lambda: _("Only the shop's staff can give a new ship-by date.")
    ) or _free_hand(action, request, who)


def _label_freezes_free_shipping() -> str:
    return _("Free shipping cannot change once a return label exists.")


def _free_shipping_rule(action, request, who, facts) -> Refusal | None:
    """Possible until a return label exists; switching it to what it is already is refused,
    so a button that shows the switch always changes something."""
    on = action == "free_shipping_on"
    return (
        _not_held_by_other(request, who)
        or _status_allows(action, request, _label_freezes_free_shipping)
        or _refused_if(facts.has_label, _label_freezes_free_shipping)
        or _refused_if(
            request.free_shipping == on,
            lambda: _("Free shipping is already on.") if on else _("Free shipping is already off."),
        )
    )


def _stage_rule(action, request, who, facts) -> Refusal | None:
    return _not_held_by_other(request, who) or _status_allows(
        action, request, lambda: _("Only open requests can move between review stages.")
    )


def _decide_line_rule(action, request, who, facts) -> Refusal | None:
    return (
        _not_held_by_other(request, who)
        or _status_allows(
            action, request, lambda: _("Lines can only be decided while the request is open.")
        )
        or _refused_if(not facts.has_open_line, lambda: _("Every item is decided already."))
    )


def _always(action, request, who, facts) -> Refusal | None:
    """Renewing the customer's link and writing to the customer are open in every status."""
    return None


ACTION_RULES: dict[str, Rule] = {
    "hold": _hold_rule,
    "release": _release_rule,
    "take_over": _take_over_rule,
    "concept": _change_rule,
    "back_to_new": _change_rule,
    "approve": _approve_rule,
    "approve_keep": _approve_rule,
    "cancel": _cancel_rule,
    "reopen": _reopen_rule,
    "new_ship_by": _new_ship_by_rule,
    "label_again": _label_again_rule,
    "settle": _settle_rule,
    "free_shipping_on": _free_shipping_rule,
    "free_shipping_off": _free_shipping_rule,
    "stage": _stage_rule,
    "decide_line": _decide_line_rule,
    "renew_link": _always,
    "message": _always,
}


def allowed_actions(
    request: ReturnRequest,
    actor: User | Actor | None,
    facts: RequestFacts | None = None,
    among: Collection[str] = ACTION_RULES.keys(),
) -> frozenset[str]:
    """What ``actor`` may do to the request now: the actions (``ACTION_SOURCES``) whose rule
    lets it. Every button of the Requests screens and the API's ``allowed_actions`` are drawn
    from this answer, and each operation refuses by the same rule (``_enforce``), so what is
    offered and what is refused cannot disagree. ``facts`` come from ``request_facts`` when a
    list asks for many rows at once; without them they are looked up here. A screen that
    shows only some actions asks ``among`` them: the others' rules are not run.
    """
    who = as_actor(actor)
    if facts is None:
        facts = request_facts([request.id])[request.id]
    return frozenset(
        action for action in among if ACTION_RULES[action](action, request, who, facts) is None
    )


# An open request's likeliest next step, best first: deciding it. Approve when the rules let
# it; cancel when they do not (every item rejected: ``_approve_rule`` says "cancel instead").
LIKELY_NEXT_STEPS = ("approve", "cancel")


def likely_next_step(request: ReturnRequest, offered: Collection[str]) -> str | None:
    """The step an agent most likely takes next on ``request``, among ``offered`` (what
    ``allowed_actions`` answered, or the part of it a screen shows). Only an open request
    waits for the shop's decision; a decided one waits for the customer or the carrier, so
    none of its steps is the likely one."""
    if request.status not in OPEN_STATUSES:
        return None
    return next((step for step in LIKELY_NEXT_STEPS if step in offered), None)


def _enforce(action: str, request: ReturnRequest, who: Actor) -> None:
    """Refuse ``action`` unless its rule (the one ``allowed_actions`` asks) lets ``who`` do it."""
    facts = request_facts([request.id])[request.id]
    refusal = ACTION_RULES[action](action, request, who, facts)
    if refusal is not None:
        raise TransitionRefused(refusal())


def _check_not_held_by_other(request: ReturnRequest, who: Actor) -> None:
    refusal = _not_held_by_other(request, who)
    if refusal is not None:
        raise TransitionRefused(refusal())


def _check_transition(request: ReturnRequest, to_status: str) -> None:
    if (request.status, to_status) not in TRANSITIONS:
        raise TransitionRefused(_transition_refusal(request, to_status))


def _transition_refusal(request: ReturnRequest, to_status: str) -> str:
    if request.status in (APPROVED, CANCELLED) and request.status == to_status:
        return _decided_message(request)
    return _(
        "A request that is %(current)s cannot become %(target)s.",
        current=status_label(request.status),
        target=status_label(to_status),
    )


def _update(request: ReturnRequest, who: Actor, **values) -> None:
    """Write ``values`` only if the row is still the version we read; else refuse.

    This is what makes two simultaneous clicks give exactly one change.
    """
    seen_version = request.version
    # An UPDATE hands back a CursorResult, which counts the rows; Session.execute says Result.
    changed = cast(
        CursorResult[Any],
        db.session.execute(
            update(ReturnRequest)
            .where(ReturnRequest.id == request.id, ReturnRequest.version == seen_version)
            .values(version=seen_version + 1, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise TransitionRefused(_concurrent_change_message(request))
    if dashboard_marks.counts_any(ReturnRequest, values):
        dashboard_marks.mark_requests([request.id])
    db.session.expire(request)


def _last_actor_name(request: ReturnRequest) -> str:
    last = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.request_id == request.id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if last is None:
        return "?"
    return last.actor.name if last.actor else (last.actor_label or "?")


def _decided_message(request: ReturnRequest) -> str:
    return _(
        "Already %(status)s by %(name)s.",
        status=status_label(request.status).lower(),
        name=_last_actor_name(request),
    )


def check_seen_version(request: ReturnRequest, seen_version: int) -> None:
    """Refuse a decision taken on a page that showed an older version of the request."""
    if seen_version != request.version:
        raise TransitionRefused(_concurrent_change_message(request))


def _concurrent_change_message(request: ReturnRequest) -> str:
    db.session.refresh(request)
    if request.status in (APPROVED, CANCELLED):
        return _decided_message(request)
    return _(
        "%(name)s changed this request just now. Look again and retry.",
        name=_last_actor_name(request),
    )


def _transition(
    request: ReturnRequest,
    actor: User | Actor | None,
    to_status: str,
    action: str,
    *,
    note: str | None = None,
    **values,
) -> None:
    who = as_actor(actor)
    _check_not_held_by_other(request, who)
    _check_transition(request, to_status)
    from_status = request.status
    if from_status == ON_HOLD and "held_by_id" not in values:
        values.update(held_by_id=None, held_since=None, status_before_hold=None)
    _update(request, who, status=to_status, **values)
    record(request, who, action, from_status=from_status, to_status=to_status, note=note)
    webhook_events.announce_request(request, from_status)


def set_concept(request: ReturnRequest, actor: User | Actor | None) -> None:
    """Mark a request as checked ("concept"), ready for a later approve-all."""
    who = as_actor(actor)
    _enforce("concept", request, who)
    _transition(request, who, CONCEPT, "concept", stage_id=None)


def set_new(request: ReturnRequest, actor: User | Actor | None) -> None:
    """Put a concept request back to new (a cancelled one is reopened: ``reopen``)."""
    who = as_actor(actor)
    _enforce("back_to_new", request, who)
    _transition(request, who, NEW, "back_to_new")


def hold(request: ReturnRequest, actor: User) -> None:
    """The orange "Hold" (Vasthouden): tell colleagues somebody works on this request."""
    who = as_actor(actor)
    _enforce("hold", request, who)
    _transition(
        request,
        who,
        ON_HOLD,
        "hold",
        held_by_id=actor.id,
        held_since=utcnow(),
        status_before_hold=request.status,
    )


def release(request: ReturnRequest, actor: User | Actor | None) -> None:
    """Release a hold: the request returns to the status it had before."""
    who = as_actor(actor)
    _enforce("release", request, who)
    _transition(request, who, request.status_before_hold or NEW, "release")


def may_take_over(request: ReturnRequest, user: User) -> bool:
    """Shop admins may take over any hold, agents only a stale one."""
    if request.status != ON_HOLD or request.held_by_id == user.id:
        return False
    return tenancy.is_admin_of(user, request.shop_id) or hold_is_stale(request)


def take_over(request: ReturnRequest, actor: User) -> None:
    """Explicitly take a colleague's hold over; audited with whose hold it was."""
    who = as_actor(actor)
    _enforce("take_over", request, who)
    previous = holder_name(request)
    _update(request, who, held_by_id=actor.id, held_since=utcnow())
    record(
        request,
        who,
        "take_over",
        from_status=ON_HOLD,
        to_status=ON_HOLD,
        note=_("Taken over from %(name)s", name=previous),
    )


def set_stage(
    request: ReturnRequest, actor: User | Actor | None, stage: ReviewStage | None
) -> None:
    """Move an open request to one of the shop's own review stages (or out of any)."""
    who = as_actor(actor)
    _enforce("stage", request, who)
    if stage is not None and stage.shop_id != request.shop_id:
        raise TransitionRefused(_("That review stage belongs to another shop."))
    _update(request, who, stage_id=stage.id if stage else None)
    record(request, who, "stage", note=stage.name_en if stage else None)


def set_free_shipping(request: ReturnRequest, actor: User | Actor | None, on: bool) -> None:
    """The "gratis verzenden" toggle; possible until a return label exists."""
    who = as_actor(actor)
    _enforce("free_shipping_on" if on else "free_shipping_off", request, who)
    _update(request, who, free_shipping=on)
    record(request, who, "free_shipping_on" if on else "free_shipping_off")
    run_notice_rules(request, "changed")


def decide_line(
    request: ReturnRequest,
    actor: User | Actor | None,
    line: ReturnRequestLine,
    approved: bool,
    reason: str | None = None,
) -> None:
    """Approve or reject one line before the request is decided (a partial approval)."""
    who = as_actor(actor)
    _enforce("decide_line", request, who)
    if line.request_id != request.id:
        raise TransitionRefused(_("Lines can only be decided while the request is open."))
    if line.decision != "open":
        raise TransitionRefused(_("This item is decided already."))
    if not approved and not (reason or "").strip():
        raise TransitionRefused(_("Say why this item may not be returned."))
    _update(request, who)
    line.decision = "approved" if approved else "rejected"
    line.decision_reason = None if approved else (reason or "").strip()
    record(
        request,
        who,
        "line_approved" if approved else "line_rejected",
        note=f"{line.order_line.product_name}: {line.decision_reason or ''}".strip(": "),
    )


def approve(
    request: ReturnRequest, actor: User | Actor | None, *, keep_items: bool = False
) -> None:
    """The green "Approve" (Goedkeuren); the customer is emailed the next steps at once.

    Lines still open are approved; lines an agent rejected stay rejected (partial approval).
    With ``keep_items`` the customer keeps the goods: no label, straight to resolution.
    The shop's return fee is recorded: it is what the customer is told the label costs.
    """
    who = as_actor(actor)
    _enforce("approve_keep" if keep_items else "approve", request, who)
    lines = list(request.lines)
    _transition(
        request,
        who,
        APPROVED,
        "approve_keep" if keep_items else "approve",
        decided_by_id=who.user.id if who.user else None,
        decided_at=utcnow(),
        keep_items=keep_items,
        return_fee_cents=request.shop.return_fee_cents,
        **_fresh_ship_by(request, keep_items),
    )
    for line in lines:
        if line.decision == "open":
            line.decision = "approved"
    _email_customer(request, "request_approved")


def _fresh_ship_by(request: ReturnRequest, keep_items: bool = False) -> dict[str, Any]:
    """The ship-by date an approval from now records, not yet reminded; none when the
    customer keeps the items (nothing ships)."""
    deadline = None if keep_items else ship_by.ship_by_date(request.shop, utcnow())
    return {"ship_by_at": deadline, "ship_by_reminded_at": None}


def cancel(request: ReturnRequest, actor: User | Actor | None, reason: str) -> None:
    """The red "Cancel" (Annuleren); the customer is emailed the reason the agent typed."""
    reason = cancel_reason(reason)
    who = as_actor(actor)
    _enforce("cancel", request, who)
    _transition(
        request,
        who,
        CANCELLED,
        "cancel",
        note=reason,
        decided_by_id=who.user.id if who.user else None,
        decided_at=utcnow(),
        cancel_reason=reason,
    )
    _email_customer(request, "request_cancelled")


def cancel_reason(typed: str | None) -> str:
    """The reason a cancellation gives the customer, as the agent meant it: without the
    spaces and newlines around a pasted text, in every email and audit note alike."""
    reason = (typed or "").strip()
    if not reason:
        raise TransitionRefused(_("Type the reason for the customer."))
    return reason


def reopen(request: ReturnRequest, actor: User) -> None:
    """Reopen a cancelled request (shop admins only); its fee is recorded again at approval."""
    who = as_actor(actor)
    _enforce("reopen", request, who)
    _transition(
        request,
        who,
        NEW,
        "reopen",
        cancel_reason=None,
        decided_at=None,
        keep_items=False,
        return_fee_cents=None,
        ship_by_at=None,
        ship_by_reminded_at=None,
    )


def allow_new_label(request: ReturnRequest, actor: User | Actor | None) -> None:
    """After its return was cancelled, the request is approved again: the customer is emailed
    that the label is void and that a new one can be made on the status page, by a new
    ship-by date."""
    who = as_actor(actor)
    _enforce("label_again", request, who)
    _transition(request, who, APPROVED, "label_again", **_fresh_ship_by(request))
    _email_customer(request, "label_cancelled")


def give_new_ship_by(request: ReturnRequest, actor: User | Actor | None) -> None:
    """Reopen an expired request: approved again with a new ship-by date from today, and the
    customer emailed the approval with that date."""
    who = as_actor(actor)
    _enforce("new_ship_by", request, who)
    _transition(request, who, APPROVED, "new_ship_by", **_fresh_ship_by(request))
    _email_customer(request, "request_approved")


def remind_ship_by(now: datetime | None = None) -> int:
    """Email the customer of every approved request still without a label whose ship-by
    date is near (``ship_by.REMINDER_DAYS``) a reminder, once; returns how many.

    Set-based: one conditional UPDATE marks the reminded requests, so a second sweep running
    at the same time finds none of them left and no customer is reminded twice.
    """
    now = now or utcnow()
    reminded = _sweep_update(
        ReturnRequest.ship_by_reminded_at.is_(None),
        ReturnRequest.ship_by_at > now,
        ReturnRequest.ship_by_at <= ship_by.reminder_due_before(now),
        values={"ship_by_reminded_at": now},
    )
    _sweep_audit(reminded, "ship_by_reminded", APPROVED, now)
    _bulk_email([row.id for row in reminded], "ship_by_reminder")
    return len(reminded)


def expire_overdue(now: datetime | None = None) -> int:
    """Expire every approved request whose ship-by date has passed without a return label:
    audited, announced and the customer emailed; returns how many. Staff may give it a new
    date (``give_new_ship_by``). Set-based and conditional like ``remind_ship_by``."""
    now = now or utcnow()
    expired = _sweep_update(
        ReturnRequest.ship_by_at <= now,
        values={"status": EXPIRED, "version": ReturnRequest.version + 1, "updated_at": now},
    )
    _sweep_audit(expired, "expire", EXPIRED, now)
    _announce_bulk_changes(expired, {row.id: APPROVED for row in expired})
    _bulk_email([row.id for row in expired], "request_expired")
    return len(expired)


def _sweep_update(*conditions, values: dict[str, Any]) -> list:
    """One UPDATE of the approved requests (so without an active label) that match; the
    changed rows (id, status, shop id). A request whose customer keeps the items has no date.
    A reminder leaves the version alone: it changes nothing an agent decides on."""
    return list(
        db.session.execute(
            update(ReturnRequest)
            .where(
                ReturnRequest.status == APPROVED,
                ReturnRequest.ship_by_at.is_not(None),
                ReturnRequest.keep_items.is_(False),
            )
            .where(*conditions)
            .values(**values)
            .returning(ReturnRequest.id, ReturnRequest.status, ReturnRequest.shop_id)
            .execution_options(synchronize_session=False)
        ).all()
    )


def _sweep_audit(rows: list, action: str, to_status: str, now: datetime) -> None:
    """The audit events of a sweep, done by ReturnDesk itself (no actor)."""
    if not rows:
        return
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "shop_id": shop_id,
                "request_id": request_id,
                "action": action,
                "from_status": APPROVED,
                "to_status": to_status,
                "created_at": now,
            }
            for request_id, _status, shop_id in rows
        ],
    )


def settle_kept(
    request: ReturnRequest, actor: User | Actor | None, kind: str, refund_to: str = MANUAL
) -> Refund | None:
    """Settle a request whose customer keeps the items: refund (the breakdown's total),
    exchange or store credit, recorded on the request and completed. A refund or store credit
    is recorded as a ``Refund`` for ``refund_to``, as when a received return is resolved
    (``resolve``): the customer is emailed now for an exchange or one sent by hand, else by
    the refund job once the platform confirms. Returns the refund, if any."""
    who = as_actor(actor)
    _enforce("settle", request, who)
    if kind not in RESOLUTIONS:
        raise TransitionRefused(_("Choose refund, exchange or store credit."))
    amount = refunds.refund_breakdown(request).total_cents if kind != "exchange" else None
    _transition(
        request,
        who,
        COMPLETED,
        f"resolved_{kind}",
        note=str(statuses.RESOLUTION_LABELS[kind]),
        settled_resolution=kind,
        settled_cents=amount,
        settled_at=utcnow(),
    )
    payout = _record_refund(request, None, actor, kind, amount, refund_to) if amount else None
    if payout is None or payout.destination == MANUAL:
        _email_customer(request, "return_resolved")
    return payout


def mark_label_created(request: ReturnRequest, actor: User | Actor | None) -> None:
    """The customer created the return label: "Requests" shows the request as handled."""
    if request.keep_items:
        raise TransitionRefused(_("The customer keeps the items; no label is needed."))
    _transition(request, actor, LABEL_CREATED, "label_created")


def complete(request: ReturnRequest, actor: User | Actor | None, note: str | None = None) -> None:
    """The return was received and resolved (or the items were kept)."""
    if request.status == APPROVED and not request.keep_items:
        raise TransitionRefused(_("The items have not been returned yet."))
    _transition(request, actor, COMPLETED, "complete", note=note)


def _email_customer(request: ReturnRequest, template: str) -> None:
    # Flush first: refreshing re-runs the loader options the request was read with, and would
    # put back the lines' old decisions over the ones just made (nothing listed, nothing saved).
    db.session.flush()
    db.session.refresh(request)
    emails.queue_request_email(template, request)


# Bulk: the same rules in set-based SQL, for "approve all concept" over thousands of requests.

BULK_CHUNK = 500
# A selection larger than this runs as an RQ job with visible progress.
BULK_INLINE_LIMIT = 300


@dataclass
class BulkOutcome:
    """What a bulk action did: how many changed, and per reason how many were skipped."""

    action: str
    done: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, other: BulkOutcome) -> None:
        self.done += other.done
        for reason, n in (other.skipped or {}).items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def summary(self) -> str:
        """ "118 approved, 2 skipped: held by Anna" """
        text = _("%(count)d %(action)s", count=self.done, action=statuses.audit_label(self.action))
        for reason, n in sorted((self.skipped or {}).items()):
            text += ", " + _("%(count)d skipped: %(reason)s", count=n, reason=reason)
        return text


def _skip_reason(action: str, status: str, holder: str | None, actor: User) -> str | None:
    """Why a request is left alone by a bulk action, or None when it takes part."""
    if status == ON_HOLD and holder is not None and holder != actor.name:
        return _("held by %(name)s", name=holder)
    if status not in BULK_SOURCES[action]:
        return _("already %(status)s", status=status_label(status).lower())
    return None


def _bulk_values(
    action: str,
    actor: User,
    reason: str | None,
    now: datetime,
    stage_id: int | None,
    request_ids: Collection[int] = (),
) -> dict:
    clear_hold: dict[str, Any] = {
        "held_by_id": None,
        "held_since": None,
        "status_before_hold": None,
    }
    by_action: dict[str, dict[str, Any]] = {
        "concept": {"status": CONCEPT, "stage_id": None},
        "approve": {
            "status": APPROVED,
            "keep_items": False,
            "decided_by_id": actor.id,
            "decided_at": now,
            "return_fee_cents": _shop_return_fee(),
            **clear_hold,
        },
        "cancel": {
            "status": CANCELLED,
            "decided_by_id": actor.id,
            "decided_at": now,
            "cancel_reason": reason,
            **clear_hold,
        },
        "hold": {
            "status": ON_HOLD,
            "held_by_id": actor.id,
            "held_since": now,
            "status_before_hold": ReturnRequest.status,
        },
        "release": {
            "status": func.coalesce(ReturnRequest.status_before_hold, NEW),
            **clear_hold,
        },
        "free_shipping_on": {"free_shipping": True},
        "free_shipping_off": {"free_shipping": False},
        "stage": {"stage_id": stage_id},
    }
    values = by_action[action]
    if action == "approve":
        values |= {"ship_by_at": _ship_by_dates(request_ids, now), "ship_by_reminded_at": None}
    return {**values, "version": ReturnRequest.version + 1, "updated_at": now}


def _shop_return_fee():
    """The shop's return fee, for a bulk UPDATE of its requests to record."""
    return select(Shop.return_fee_cents).where(Shop.id == ReturnRequest.shop_id).scalar_subquery()


def _ship_by_dates(request_ids: Collection[int], now: datetime):
    """Each request's ship-by date for a bulk approval at ``now``: computed per shop of these
    requests (in the shop's zone), chosen by the request's shop in the UPDATE."""
    of_requests = select(ReturnRequest.shop_id).where(ReturnRequest.id.in_(request_ids))
    shops = db.session.scalars(select(Shop).where(Shop.id.in_(of_requests))).all()
    dates = {shop.id: ship_by.ship_by_date(shop, now) for shop in shops}
    dates = {shop_id: deadline for shop_id, deadline in dates.items() if deadline is not None}
    if not dates:
        return None
    return case(dates, value=ReturnRequest.shop_id, else_=None)


def _select_chunk(ids: list[int], actor: User):
    query = (
        select(ReturnRequest.id, ReturnRequest.status, User.name, ReturnRequest.shop_id)
        .outerjoin(User, User.id == ReturnRequest.held_by_id)
        .where(ReturnRequest.id.in_(ids))
    )
    query = tenancy.in_shops(query, ReturnRequest.shop_id, tenancy.shops_for(actor))
    if on_postgresql():
        query = query.with_for_update(of=ReturnRequest)
    return db.session.execute(query).all()


def _excluded_by_label_or_lines(action: str, ids: list[int]) -> set[int]:
    """Requests a bulk action must leave alone for reasons beyond their status (the facts the
    rule of the same action reads)."""
    if action.startswith("free_shipping"):
        return {i for i, facts in request_facts(ids).items() if facts.has_label}
    if action == "approve":
        return {i for i, facts in request_facts(ids).items() if facts.every_item_rejected}
    return set()


def bulk_apply_chunk(
    action: str,
    ids: list[int],
    actor: User,
    reason: str | None = None,
    stage: ReviewStage | None = None,
) -> BulkOutcome:
    """Apply ``action`` to these requests in set-based SQL, with audit events and emails.

    Requests of shops the actor may not see are ignored as if they did not exist. The
    UPDATE re-checks each row's status, so a row changed by a colleague in between is
    skipped, never changed twice.
    """
    if action == "cancel":
        reason = cancel_reason(reason)
    if action == "stage" and stage is None:
        raise TransitionRefused(_("Choose a review stage."))
    outcome = BulkOutcome(action=action, skipped={})
    eligible = _bulk_eligible(action, ids, actor, stage, outcome)
    if not eligible:
        return outcome
    now = utcnow()
    changed_rows = _bulk_update(action, eligible, actor, reason, now, stage)
    changed = [row.id for row in changed_rows]
    if lost := len(eligible) - len(changed):
        outcome.skipped[_("changed meanwhile")] = lost
    outcome.done = len(changed_rows)
    _bulk_audit(action, actor, reason, eligible, changed_rows, now)
    _announce_bulk_changes(changed_rows, eligible)
    _bulk_follow_up(action, changed)
    return outcome


def _bulk_eligible(
    action: str, ids: list[int], actor: User, stage: ReviewStage | None, outcome: BulkOutcome
) -> dict[int, str]:
    """The requests the action may change, with their status now; the rest are counted in
    ``outcome.skipped`` by the reason why."""
    rows = _select_chunk(ids, actor)
    blocked = _excluded_by_label_or_lines(action, [row.id for row in rows])
    eligible: dict[int, str] = {}
    for request_id, status, holder, shop_id in rows:
        why = _skip_reason(action, status, holder, actor)
        if why is None and stage is not None and shop_id != stage.shop_id:
            why = _("another shop")
        if why is None and request_id in blocked:
            why = (
                _("a label exists")
                if action.startswith("free_shipping")
                else _("every item rejected")
            )
        if why is None:
            eligible[request_id] = status
        else:
            outcome.skipped[why] = outcome.skipped.get(why, 0) + 1
    return eligible


def _bulk_update(
    action: str,
    eligible: dict[int, str],
    actor: User,
    reason: str | None,
    now: datetime,
    stage: ReviewStage | None,
) -> list:
    """One UPDATE of the eligible requests still where the action may start; the changed rows
    (marked for the dashboard's recount when the update changed what it counts)."""
    values = _bulk_values(action, actor, reason, now, stage.id if stage else None, eligible)
    changed = list(
        db.session.execute(
            update(ReturnRequest)
            .where(
                ReturnRequest.id.in_(list(eligible)),
                ReturnRequest.status.in_(BULK_SOURCES[action]),
                (ReturnRequest.status != ON_HOLD) | (ReturnRequest.held_by_id == actor.id),
            )
            .values(**values)
            .returning(ReturnRequest.id, ReturnRequest.status, ReturnRequest.shop_id)
            .execution_options(synchronize_session=False)
        ).all()
    )
    if changed and dashboard_marks.counts_any(ReturnRequest, values):
        dashboard_marks.mark_requests([row.id for row in changed])
    return changed


def _bulk_follow_up(action: str, changed: list[int]) -> None:
    """What follows the changed statuses: approved lines, the customers' emails, notices."""
    if action == "approve":
        db.session.execute(
            update(ReturnRequestLine)
            .where(ReturnRequestLine.request_id.in_(changed), ReturnRequestLine.decision == "open")
            .values(decision="approved")
            .execution_options(synchronize_session=False)
        )
    if action in ("approve", "cancel"):
        _bulk_email(changed, "request_approved" if action == "approve" else "request_cancelled")
    if action.startswith("free_shipping"):
        _bulk_reevaluate_notices(changed)


def _bulk_reevaluate_notices(request_ids: list[int]) -> None:
    """Free shipping is read by notice rules: run them again on the changed requests."""
    requests = db.session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.id.in_(request_ids))
        .execution_options(populate_existing=True)
    )
    for request in requests:
        run_notice_rules(request, "changed")


def _bulk_audit(action, actor, reason, before: dict[int, str], after_rows, now) -> None:
    """The audit events of a bulk action (marked for the dashboard's recount if it counts
    their action)."""
    if action in dashboard_marks.COUNTED_ACTIONS and after_rows:
        dashboard_marks.mark_audited([(row.id, row.shop_id) for row in after_rows], now)
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "shop_id": shop_id,
                "request_id": request_id,
                "actor_id": actor.id,
                "action": action,
                "from_status": before[request_id],
                "to_status": status,
                "note": reason if action == "cancel" else _("bulk action"),
                "created_at": now,
            }
            for request_id, status, shop_id in after_rows
        ],
    )


def _announce_bulk_changes(after_rows, before: dict[int, str]) -> None:
    """One ``request.status_changed`` webhook per request whose status the bulk action changed."""
    moved = [row for row in after_rows if row.status != before[row.id]]
    endpoints = webhook_events.active_endpoints({row.shop_id for row in moved})
    announced = [row.id for row in moved if row.shop_id in endpoints]
    if not announced:
        return
    requests = db.session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.id.in_(announced))
        .options(selectinload(ReturnRequest.shop))
        .order_by(ReturnRequest.id)
        .execution_options(populate_existing=True)
    )
    for request in requests:
        webhook_events.announce_request(request, before[request.id], endpoints[request.shop_id])


def _bulk_email(request_ids: list[int], template: str) -> None:
    """Unwritten outbox emails, written by the delivery job after the commit (see emails.py)."""
    written = emails.queue_request_emails(template, request_ids)
    outbox_rows.note_written(db.session, [(OutboundEmail, email_id) for email_id in written])


def bulk_apply(
    action: str,
    ids: list[int],
    actor: User,
    reason: str | None = None,
    stage: ReviewStage | None = None,
) -> BulkOutcome:
    """Apply a bulk action to a small selection in the caller's transaction."""
    outcome = BulkOutcome(action=action, skipped={})
    for start in range(0, len(ids), BULK_CHUNK):
        chunk = ids[start : start + BULK_CHUNK]
        outcome.add(bulk_apply_chunk(action, chunk, actor, reason, stage))
    return outcome


# Returns (shipments): the journey of the parcel, from label to resolution.
#
# A ``Return`` moves label_created → in_transit → delivered → received → resolved, or is
# cancelled (its label voided). Each step updates the row only while it is still in a status
# the step may start from (a conditional UPDATE), so two clicks give exactly one step, writes
# an audit event with the return's id, and queues the customer's emails as outbox rows.

RETURN_SOURCES = {
    "in_transit": (RETURN_LABEL_CREATED,),
    "delivered": (RETURN_LABEL_CREATED, RETURN_IN_TRANSIT),
    "received": (RETURN_LABEL_CREATED, RETURN_IN_TRANSIT, RETURN_DELIVERED),
    "resolved": (RETURN_RECEIVED,),
    "cancelled": (RETURN_LABEL_CREATED,),
    "label_created": (RETURN_LABEL_CREATED, RETURN_CANCELLED),
}


# What staff may do to a return now: the buttons of its page and of the Returns list are drawn
# from ``allowed_return_actions``, and each step refuses by the same rule.
ReturnRule = Callable[[Return], Refusal | None]


def _may_become(to_status: str) -> ReturnRule:
    def rule(return_: Return) -> Refusal | None:
        return _refused_if(
            return_.status not in RETURN_SOURCES[to_status],
            lambda: _return_refusal(return_, to_status),
        )

    return rule


def _cancel_return_rule(return_: Return) -> Refusal | None:
    return _may_become(RETURN_CANCELLED)(return_) or _refused_if(
        return_.label_status == "working",
        lambda: _("The label is being created right now; try again in a moment."),
    )


def _recreate_rule(return_: Return) -> Refusal | None:
    """A label is made again for a lost or failed label, or for a cancelled return whose
    request still waits for it (not one the agent approved again or cancelled)."""
    being_made = return_.status == RETURN_LABEL_CREATED and return_.label_status in (
        "pending",
        "working",
    )
    return (
        _may_become(RETURN_LABEL_CREATED)(return_)
        or _refused_if(being_made, lambda: _("The label is being created already."))
        or _refused_if(
            return_.request.status != LABEL_CREATED,
            lambda: _("The request no longer waits for this return's label."),
        )
    )


RETURN_ACTION_RULES: dict[str, ReturnRule] = {
    "in_transit": _may_become(RETURN_IN_TRANSIT),
    "delivered": _may_become(RETURN_DELIVERED),
    "receive": _may_become(RETURN_RECEIVED),
    "resolve": _may_become(RETURN_RESOLVED),
    "cancel": _cancel_return_rule,
    "recreate": _recreate_rule,
}


def allowed_return_actions(return_: Return) -> frozenset[str]:
    """The staff steps ``RETURN_ACTION_RULES`` lets happen to the return now."""
    return frozenset(
        action for action, rule in RETURN_ACTION_RULES.items() if rule(return_) is None
    )


def _enforce_return(action: str, return_: Return) -> None:
    refusal = RETURN_ACTION_RULES[action](return_)
    if refusal is not None:
        raise TransitionRefused(refusal())


# A return in one of these statuses is over: its parcel is no longer on its way or waiting
# to be resolved.
RETURN_SETTLED_STATUSES = (RETURN_RESOLVED, RETURN_CANCELLED)


def returns_in_progress(request_ids: Collection[int]) -> list[Return]:
    """The returns of these requests still under way: a label made, a parcel in transit or
    delivered, or received and not yet resolved (a refund pending)."""
    if not request_ids:
        return []
    return list(
        db.session.scalars(
            select(Return)
            .where(
                Return.request_id.in_(list(request_ids)),
                Return.status.not_in(RETURN_SETTLED_STATUSES),
            )
            .order_by(Return.id)
        )
    )


def active_return(request: ReturnRequest) -> Return | None:
    """The request's shipment that is not cancelled (there is at most one)."""
    return db.session.scalar(
        select(Return)
        .where(Return.request_id == request.id, Return.status != RETURN_CANCELLED)
        .order_by(Return.id.desc())
        .limit(1)
    )


def _update_return(return_: Return, to_status: str, **values) -> str:
    """Move the return to ``to_status`` only if it is still where that step may start.

    Returns the status it came from; refuses (and rolls back) when a colleague was first.
    """
    sources = RETURN_SOURCES[to_status]
    from_status = return_.status
    if from_status not in sources:
        raise TransitionRefused(_return_refusal(return_, to_status))
    changed = cast(
        CursorResult[Any],
        db.session.execute(
            update(Return)
            .where(Return.id == return_.id, Return.status == from_status)
            .values(status=to_status, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(return_)
        raise TransitionRefused(_return_refusal(return_, to_status))
    db.session.expire(return_)
    if to_status != from_status:
        webhook_events.announce_return(return_, from_status)
    return from_status


def _return_refusal(return_: Return, to_status: str) -> str:
    return _(
        "Return %(number)s is %(current)s and cannot become %(target)s.",
        number=return_.number,
        current=return_status_label(return_.status).lower(),
        target=return_status_label(to_status).lower(),
    )


def _record_return(
    return_: Return,
    actor: User | Actor | None,
    action: str,
    from_status: str | None,
    note: str | None = None,
) -> None:
    record(
        return_.request,
        actor,
        action,
        from_status=from_status,
        to_status=return_.status,
        note=note,
        return_id=return_.id,
    )


def next_return_number(year: int | None = None) -> str:
    year = year or utcnow().year
    return f"RET-{year}-{next_number(f'return-{year}'):05d}"


def create_return(
    request: ReturnRequest,
    carrier: str,
    actor: User | Actor | None,
    offered_carriers: Collection[str],
) -> Return:
    """The customer's "Create return label": one shipment per request, whatever is clicked.

    Asking again gives the existing shipment; otherwise ``label_refusal`` says whether the
    customer may make one now (after a cancelled label the agent chooses first). The fee shown before (``refunds.label_fee_cents``) is
    recorded on the return. ``offered_carriers``: the carriers the shop offers now
    (``labels.create_return`` passes them). The caller commits, then hands the return to the
    label job.
    """
    existing = active_return(request)
    if existing is not None:
        return existing
    if (refusal := label_refusal(request)) is not None:
        raise TransitionRefused(refusal)
    if carrier not in offered_carriers:
        raise TransitionRefused(_("This carrier is not available for this shop."))
    mark_label_created(request, actor)
    return_ = Return(
        number=next_return_number(),
        shop_id=request.shop_id,
        request_id=request.id,
        carrier=carrier,
        cost_cents=refunds.label_fee_cents(request),
        status=RETURN_LABEL_CREATED,
        label_status="pending",
    )
    db.session.add(return_)
    db.session.flush()
    _record_return(return_, actor, "return_created", None, note=carrier)
    webhook_events.announce_return(return_)
    return return_


def label_refusal(request: ReturnRequest) -> str | None:
    """Why the customer may not create a return label now, in their words; None if they may.

    The one rule for the label page, the status page and ``create_return``. After a return is
    cancelled the request waits for the agent (``allow_new_label`` or cancel), so the customer
    cannot make a new label before the agent has chosen.
    """
    if request.status == APPROVED and request.keep_items:
        return _("You may keep the items; there is no need to send anything back.")
    if request.status == LABEL_CREATED and active_return(request) is None:
        return _(
            "Your return label was cancelled. The shop will let you know by email how to continue."
        )
    if request.status in (NEW, CONCEPT, ON_HOLD):
        return _("A return label can be created once your request is approved.")
    if request.status != APPROVED:
        return _("A return label can only be created for an approved request.")
    return None


def recreate_label(
    return_: Return, actor: User | Actor | None, *, carrier: str | None = None
) -> None:
    """Make a new label for the same return: a lost label is printed again, a cancelled one
    replaced (with a new tracking number), without a second return."""
    _enforce_return("recreate", return_)
    fresh = {}
    if return_.status == RETURN_CANCELLED:
        fresh = {
            "carrier_reference": None,
            "tracking_number": None,
            "tracking_url": None,
            "qr_payload": None,
            "label_storage_key": None,
            "carrier": carrier or return_.carrier,
        }
    from_status = _update_return(
        return_,
        RETURN_LABEL_CREATED,
        label_status="pending",
        label_error=None,
        label_attempts=0,
        **fresh,
    )
    _record_return(return_, actor, "label_recreated", from_status)


def mark_in_transit(return_: Return, actor: User | Actor | None) -> None:
    """The carrier has the parcel (a tracking event, or staff by hand)."""
    from_status = _update_return(return_, RETURN_IN_TRANSIT)
    _record_return(return_, actor, "in_transit", from_status)


def mark_delivered(return_: Return, actor: User | Actor | None) -> None:
    """The parcel arrived at the shop's return address, not yet unpacked."""
    from_status = _update_return(return_, RETURN_DELIVERED)
    _record_return(return_, actor, "delivered", from_status)


def receive(
    return_: Return,
    actor: User | Actor | None,
    inspections: dict[int, tuple[str, int]],
    dispositions: dict[int, tuple[str | None, str | None]] | None = None,
    refund_choices: dict[int, RefundChoice] | None = None,
) -> None:
    """Unpacked and inspected: each line's condition and received quantity; customer emailed.

    ``inspections`` maps every returned (not rejected) line's id to ``(condition, quantity)``.
    ``dispositions`` may say per line what becomes of the units, ``(disposition, note)``;
    without a disposition a line gets the condition's default
    (``statuses.DEFAULT_DISPOSITION``), and a line of which nothing came back gets none.
    ``refund_choices`` may say per line what is paid for it (full, a partial amount or
    nothing) with a note for the customer; without a choice a line gets
    ``refunds.default_refund_choice``. A refused line raises ``LineRefused``.
    """
    request = return_.request
    lines = {line.id: line for line in request.lines if line.decision != "rejected"}
    _check_inspections(lines, inspections)
    chosen = _dispositions(inspections, dispositions or {})
    paid = _refund_choices(lines, inspections, refund_choices or {})
    from_status = _update_return(return_, RETURN_RECEIVED)
    for line_id, (condition, quantity) in inspections.items():
        line = lines[line_id]
        line.condition = condition
        line.received_quantity = quantity
        line.disposition, line.disposition_note = chosen[line_id]
        line.refund_choice = paid[line_id].choice
        line.refund_partial_cents = paid[line_id].partial_cents
        line.refund_note = paid[line_id].note
    db.session.flush()
    _record_return(return_, actor, "received", from_status, note=_inspection_note(lines))
    _email_about_return(return_, "return_received")


def _check_inspections(lines: dict, inspections: dict[int, tuple[str, int]]) -> None:
    if set(inspections) != set(lines):
        raise TransitionRefused(_("Inspect every returned item."))
    for line_id, (condition, quantity) in inspections.items():
        if condition not in LINE_CONDITIONS:
            raise TransitionRefused(_("Choose the condition of every item."))
        if not 0 <= quantity <= lines[line_id].quantity:
            raise TransitionRefused(
                _(
                    "Received quantity of %(product)s must be between 0 and %(max)d.",
                    product=lines[line_id].order_line.product_name,
                    max=lines[line_id].quantity,
                )
            )


def _dispositions(
    inspections: dict[int, tuple[str, int]], given: dict[int, tuple[str | None, str | None]]
) -> dict[int, tuple[str | None, str | None]]:
    """Each inspected line's disposition and note: as given, else the condition's default."""
    chosen = {}
    for line_id, (condition, quantity) in inspections.items():
        disposition, note = given.get(line_id, (None, None))
        disposition = disposition or statuses.DEFAULT_DISPOSITION[condition]
        note = (note or "").strip() or None
        if quantity == 0:
            disposition, note = None, None
        elif disposition not in DISPOSITIONS:
            raise TransitionRefused(_("Choose what becomes of every received item."))
        elif disposition == DISPOSE and note is None:
            raise TransitionRefused(_("Say why an item is disposed of."))
        chosen[line_id] = (disposition, note)
    return chosen


def _refund_choices(
    lines: dict[int, ReturnRequestLine],
    inspections: dict[int, tuple[str, int]],
    given: dict[int, RefundChoice],
) -> dict[int, RefundChoice]:
    """Each inspected line's refund: as given, else the default by its condition and the
    customer's reason. A partial refund is more than nothing and at most the full refund
    of the units received; a note is optional and shown to the customer when given."""
    chosen = {}
    for line_id, (condition, quantity) in inspections.items():
        line = lines[line_id]
        asked = given.get(line_id, RefundChoice())
        choice = asked.choice or refunds.line_default_choice(line, condition)
        if choice not in REFUND_CHOICES:
            raise LineRefused(
                _("Choose full, partial or no refund for every item."), line_id, "refund_choice"
            )
        partial = asked.partial_cents if choice == REFUND_PARTIAL else None
        if choice == REFUND_PARTIAL:
            _check_partial_refund(line, quantity, partial)
        note = (asked.note or "").strip() or None
        chosen[line_id] = RefundChoice(choice, partial, note)
    return chosen


def _check_partial_refund(line: ReturnRequestLine, quantity: int, cents: int | None) -> None:
    full = refunds.full_amount_cents(line, quantity)
    if cents is None or not 0 < cents <= full:
        raise LineRefused(
            _(
                "The partial refund of %(product)s must be more than %(zero)s and at most %(max)s.",
                product=line.order_line.product_name,
                zero=money(0, line.request.order.currency),
                max=money(full, line.request.order.currency),
            ),
            line.id,
            "refund_partial_cents",
        )


def _inspection_note(lines: dict) -> str:
    """What was found and what is paid, in the words of whoever inspected:
    "Blouse: Damaged × 1, Refurbish, Partial refund € 10,00 (“A scratch on the sleeve”)"."""
    return "; ".join(
        f"{line.order_line.product_name}: "
        f"{statuses.CONDITION_LABELS[line.condition]} × {line.received_quantity}"
        + (f", {statuses.DISPOSITION_LABELS[line.disposition]}" if line.disposition else "")
        + (f" ({line.disposition_note})" if line.disposition_note else "")
        + f", {_refund_words(line)}"
        for line in lines.values()
    )


def _refund_words(line: ReturnRequestLine) -> str:
    """A line's refund choice for the history: "Partial refund € 10,00 (“note”)"."""
    words = str(statuses.REFUND_CHOICE_LABELS[line.refund_choice or ""])
    if line.refund_partial_cents is not None:
        words += f" {money(line.refund_partial_cents, line.request.order.currency)}"
    return words + (f" (“{line.refund_note}”)" if line.refund_note else "")


def resolve(
    return_: Return, actor: User | Actor | None, kind: str, refund_to: str = MANUAL
) -> Refund | None:
    """Settle a received return: refund (the breakdown's total), exchange or store credit.

    The request is completed with it. A refund or store credit is recorded as a ``Refund``
    for ``refund_to`` (a platform's name, or by hand). Sent by hand, or an exchange, the
    customer is emailed the outcome now; sent to a platform, the refund job emails it once
    the platform confirms (``services.refund_jobs``). Returns the refund, if any.
    """
    if kind not in RESOLUTIONS:
        raise TransitionRefused(_("Choose refund, exchange or store credit."))
    request = return_.request
    amount = refunds.refund_breakdown(request).total_cents if kind != "exchange" else None
    from_status = _update_return(
        return_, RETURN_RESOLVED, resolution=kind, refund_cents=amount, resolved_at=utcnow()
    )
    _record_return(return_, actor, f"resolved_{kind}", from_status)
    complete(request, actor, note=str(statuses.RESOLUTION_LABELS[kind]))
    payout = _record_refund(request, return_, actor, kind, amount, refund_to) if amount else None
    if payout is None or payout.destination == MANUAL:
        _email_about_return(return_, "return_resolved")
    return payout


def _record_refund(
    request: ReturnRequest,
    return_: Return | None,
    actor: User | Actor | None,
    kind: str,
    amount_cents: int,
    refund_to: str,
) -> Refund:
    """The refund or store credit of a resolved return, or of a request whose customer keeps
    the items (``return_`` None), per order line, to be sent once."""
    by_id = {line.id: line for line in request.lines}
    lines = [
        {
            "order_line_id": by_id[line.request_line_id].order_line_id,
            "sku": by_id[line.request_line_id].order_line.sku,
            "quantity": line.refunded_quantity,
            "amount_cents": line.amount_cents,
        }
        for line in refunds.refund_breakdown(request).lines
        if line.refunded_quantity or line.amount_cents
    ]
    who = as_actor(actor)
    payout = Refund(
        return_id=return_.id if return_ is not None else None,
        request_id=request.id,
        shop_id=request.shop_id,
        kind=kind,
        amount_cents=amount_cents,
        currency=request.order.currency,
        lines=lines,
        destination=refund_to,
        status="pending",
        idempotency_key=refund_key(return_, kind) if return_ else kept_refund_key(request, kind),
        attempts=0,
        created_by_id=who.user.id if who.user else None,
    )
    db.session.add(payout)
    db.session.flush()
    return payout


def refund_key(return_: Return, kind: str) -> str:
    """The idempotency key of a return's refund or store credit: one per return and kind."""
    return f"return-{return_.number}-{kind}"


def kept_refund_key(request: ReturnRequest, kind: str) -> str:
    """The idempotency key of the refund or store credit of a request whose customer keeps
    the items: one per request and kind."""
    return f"request-{request.number}-{kind}"


def cancel_return(
    return_: Return, actor: User | Actor | None, void_label: Callable[[Return], None]
) -> None:
    """Void the label (``void_label`` asks the carrier: ``labels.cancel_return`` passes it);
    the request may then get a new label on this return. A ``TransitionRefused`` from
    ``void_label`` leaves the return as it was."""
    _enforce_return("cancel", return_)
    if return_.label_status == "ready":
        void_label(return_)
    from_status = _update_return(return_, RETURN_CANCELLED, label_status="cancelled")
    _record_return(return_, actor, "return_cancelled", from_status)


def apply_tracking_event(return_: Return, event: TrackingEvent, actor: User | Actor | None) -> bool:
    """Move a return along as a carrier's tracking event says; returns whether it moved.

    Events arrive late, twice or out of order, so an event the return is already past is
    old news and changes nothing. A label the carrier cancelled is cancelled here too,
    without asking the carrier to void it again.
    """
    note = event.description or None
    if event.status == RETURN_IN_TRANSIT and return_.status in RETURN_SOURCES[RETURN_IN_TRANSIT]:
        from_status = _update_return(return_, RETURN_IN_TRANSIT)
    elif event.status == RETURN_DELIVERED and return_.status in RETURN_SOURCES[RETURN_DELIVERED]:
        from_status = _update_return(return_, RETURN_DELIVERED)
    elif event.status == RETURN_CANCELLED and return_.status in RETURN_SOURCES[RETURN_CANCELLED]:
        from_status = _update_return(return_, RETURN_CANCELLED, label_status="cancelled")
    else:
        return False
    _record_return(return_, actor, f"tracking_{event.status}", from_status, note=note)
    return True


def _email_about_return(return_: Return, template: str) -> None:
    request = return_.request
    db.session.refresh(request)
    db.session.refresh(return_)
    emails.queue_email(
        template,
        request.customer_email,
        request.language,
        shop=request.shop,
        request=request,
        return_=return_,
        refund=refunds.refund_breakdown(request),
    )


def run_notice_rules(request: ReturnRequest, trigger: str) -> list[Notice]:
    """Run the shop's notice rules on the request (``trigger``: "submitted" or "changed"); a
    rule that starts matching acts through ``act_on_rule``. Returns the notices raised."""
    return notices.apply_rules(request, trigger, act_on_rule)


def act_on_rule(rule: NoticeRule, request: ReturnRequest) -> None:
    """Perform a notice rule's action, audited as done by the rule.

    A refusal (say, a colleague changed the request meanwhile) leaves the notice standing and
    is logged; the rule does not retry.
    """
    if not rule.action or request.status not in notices.ACTIONABLE_STATUSES or request.held_by_id:
        return
    actor = Actor(label=notices.rule_label(rule))
    try:
        if rule.action == statuses.FREE_SHIPPING_ON:
            set_free_shipping(request, actor, True)
        elif rule.action == statuses.FREE_SHIPPING_OFF:
            set_free_shipping(request, actor, False)
        elif rule.action == statuses.MOVE_TO_CONCEPT and request.status == NEW:
            set_concept(request, actor)
        elif rule.action == statuses.MOVE_TO_STAGE and rule.action_stage_id:
            set_stage(request, actor, db.session.get(ReviewStage, rule.action_stage_id))
        elif rule.action == statuses.APPROVE and not notices.has_blocking_notice(request):
            approve(request, actor)
    except TransitionRefused as refused:
        log.info("rule %s could not act on %s: %s", rule.id, request.number, refused)
