"""The refund job: a resolved return's refund or store credit, or that of a request settled
with the items kept, carried out once on the shop's platform; the customer emailed only when the platform confirms it; retried with backoff while
the platform is down, and shown to staff with the platform's message when it fails.

A return is resolved through ``resolve`` here, and a request whose customer keeps the items is
settled through ``settle_kept``; both tell the workflow where the refund goes: the shop's
connected platform, or "manual" (staff refund by hand in the shop's back office and "Mark as
refunded"; the customer hears "refunded" only then). The workflow writes the ``Refund`` row in the resolving transaction; after
the commit ``send_after_commit`` hands it to this job. ``Refund.status`` is the job's progress
(like ``Return.label_status``); the return's and request's statuses do not move with it.

Sent once: the row's idempotency key is unique, one worker claims the row (a conditional
UPDATE from pending to sending), and the connector looks for a refund carrying the key before
it makes one, so a double click, two workers or a retry after a timeout pay once.

A payment provider (Mollie, for a shop whose orders come by CSV or API and carry their
payment) accepts a refund before it pays it out: the row is then "confirming" with the
provider's own status, and ``follow_refund`` (handed over by the sweeper) asks again until the
provider paid it (succeeded, and only then the customer's email) or gave it up (failed).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, or_, select, update

from domain import audit, emails, refunds, workflow
from domain.audit import Actor
from extensions import db
from models import MANUAL, Order, Refund, Return, ReturnRequest, ShopConnection, User, utcnow
from services.connectors import ConnectorError, Payout, RefundLine
from services.connectors.registry import (
    MOLLIE,
    ORDER_PLATFORMS,
    PLATFORM_NAMES,
    connector_for,
    follower_for,
    refund_reference,
)
from services.jobs import RETRY_INTERVALS, enqueue

log = logging.getLogger(__name__)

# A refund job silent this long belongs to a worker that died; the sweeper hands it over again.
STALE_REFUND_JOB = timedelta(minutes=10)
# How often the sweeper asks a payment provider again about a refund it has yet to pay out.
FOLLOW_INTERVAL = timedelta(minutes=5)


def destination_for(shop_id: int, order: Order | None = None, kind: str = "refund") -> str:
    """Where a shop's refunds go: the shop platform it is connected to; else, for money back
    on an order paid through Mollie, the shop's Mollie account; else by hand ("manual").

    A shop connected to two order platforms (possible before the admin refused a second one)
    refunds on the one the order came from (``Order.platform``); for an order that does not
    say (imported by CSV or API, or synced before that was recorded), rather than refund on
    the wrong one, ``workflow.TransitionRefused`` asks staff to disconnect one first."""
    platforms = set(
        db.session.scalars(select(ShopConnection.platform).where(ShopConnection.shop_id == shop_id))
    )
    connected = [platform for platform in ORDER_PLATFORMS if platform in platforms]
    if len(connected) > 1 and order is not None and order.platform in connected:
        return order.platform
    if len(connected) > 1:
        raise workflow.TransitionRefused(
            _(
                "This shop is connected to both %(first)s and %(second)s, and ReturnDesk cannot "
                "tell which of them the order came from, so it sent no refund. Disconnect the "
                "one the shop does not use under Integration → Shop platforms, then try again.",
                first=PLATFORM_NAMES[connected[0]],
                second=PLATFORM_NAMES[connected[1]],
            )
        )
    if connected:
        return connected[0]
    if MOLLIE in platforms and kind == "refund" and order is not None and order.mollie_payment_id:
        return MOLLIE
    return MANUAL


def resolve(return_: Return, actor: User | Actor | None, kind: str) -> Refund | None:
    """Resolve a received return (``workflow.resolve``) with its refund sent where the shop's
    refunds go. The caller commits, then calls ``send_after_commit`` with the result."""
    refund_to = (
        destination_for(return_.shop_id, return_.request.order, kind)
        if kind != "exchange"
        else MANUAL
    )
    return workflow.resolve(return_, actor, kind, refund_to=refund_to)


def settle_kept(request: ReturnRequest, actor: User | Actor | None, kind: str) -> Refund | None:
    """Settle a request whose customer keeps the items (``workflow.settle_kept``), its refund
    or store credit sent where the shop's refunds go, as ``resolve`` does for a return. The
    caller commits, then calls ``send_after_commit`` with the result."""
    refund_to = (
        destination_for(request.shop_id, request.order, kind) if kind != "exchange" else MANUAL
    )
    return workflow.settle_kept(request, actor, kind, refund_to=refund_to)


def send_after_commit(refund: Refund | None) -> None:
    """Hand a committed refund bound for a platform to the refund job."""
    if refund is not None and refund.destination != MANUAL:
        start_refund_job(refund.id)


def start_refund_job(refund_id: int) -> None:
    enqueue("send_refund", refund_id, job_id=f"refund-{refund_id}-{utcnow().timestamp():.0f}")


def _claim(refund_id: int) -> bool:
    """Take a pending platform refund for this worker; False when another has it or it is done."""
    result = db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == "pending", Refund.destination != MANUAL)
        .values(status="sending", attempts=Refund.attempts + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], result).rowcount
    db.session.commit()
    return claimed == 1


def send_refund(refund_id: int) -> None:
    """Carry out a refund or store credit on the shop's platform, once, and email the customer.

    A platform that is down, slow or busy (a retryable ``ConnectorError``) puts the refund back
    to pending and raises, so RQ retries with backoff (in-process, the sweeper does); after the
    last attempt, and at once for a refusal, the refund is "failed" with the platform's message,
    shown on the return and the dashboard until support retries it.
    """
    if not _claim(refund_id):
        return
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        return
    try:
        payout = _pay(refund)
    except Exception as error:
        if not isinstance(error, ConnectorError):
            log.exception("refund job of refund %s crashed", refund_id)
            error = ConnectorError(_("The refund could not be sent."), retryable=True)
        retry = error.retryable and refund.attempts <= len(RETRY_INTERVALS)
        _failed(refund, str(error), retry)
        if retry:
            raise error from None
        return
    if payout.status == "pending":
        _accepted(refund, payout)
        return
    _confirmed(refund, payout)


def _connection(refund: Refund) -> ShopConnection:
    """The shop's connection the refund was sent to; ``ConnectorError`` when it is gone."""
    connection = db.session.scalar(
        select(ShopConnection).where(
            ShopConnection.shop_id == refund.shop_id,
            ShopConnection.platform == refund.destination,
        )
    )
    if connection is None:
        raise ConnectorError(
            _("The shop is no longer connected to %(platform)s.", platform=refund.destination)
        )
    return connection


def _pay(refund: Refund) -> Payout:
    """Ask the shop's platform for the refund or the store credit."""
    connection = _connection(refund)
    connector = connector_for(connection)
    request = refund.request
    if refund.kind == "store_credit":
        return connector.issue_store_credit(
            request.customer_email, refund.amount_cents, refund.idempotency_key
        )
    lines = [
        RefundLine(sku=line["sku"], quantity=line["quantity"], amount_cents=line["amount_cents"])
        for line in refund.lines
    ]
    # Items the customer kept never came back: nothing to put back in stock.
    restock = connection.restock_on_refund and refund.return_id is not None
    return connector.refund(
        refund_reference(refund.destination, request.order),
        refund.amount_cents,
        lines,
        refund.idempotency_key,
        restock,
    )


def _platform(refund: Refund) -> Actor:
    return Actor(label=PLATFORM_NAMES.get(refund.destination, refund.destination))


def _failed(refund: Refund, message: str, retry: bool) -> None:
    """Keep the platform's message; a last failure goes into the return's history."""
    refund.provider_message = message[:2000]
    refund.status = "pending" if retry else "failed"
    if not retry:
        audit.record(
            refund.request,
            _platform(refund),
            "refund_failed",
            note=message,
            return_id=refund.return_id,
        )
    db.session.commit()
    log.warning("refund %s failed (retry: %s): %s", refund.idempotency_key, retry, message)


def _accepted(refund: Refund, payout: Payout) -> None:
    """The provider accepted the refund and has yet to pay it out: keep its id and status;
    the sweeper hands it to ``follow_refund`` until it is final."""
    refund.provider_id = payout.provider_id[:100]
    refund.provider_status = payout.provider_status[:20] or None
    refund.provider_message = None
    refund.status = "confirming"
    db.session.commit()


def follow_refund(refund_id: int) -> None:
    """Ask the provider how far a refund it accepted got. Paid out: succeeded, and the
    customer is emailed, once however many workers ask (a conditional UPDATE from
    confirming); given up: failed with the provider's message, for support to retry; still
    under way, or the provider not reachable now: asked again at the next sweep."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != "confirming" or not refund.provider_id:
        return
    try:
        follower = follower_for(_connection(refund))
        if follower is None:
            return
        order = refund_reference(refund.destination, refund.request.order)
        payout = follower.refund_status(order, refund.provider_id)
    except ConnectorError as error:
        if error.retryable:
            refund.provider_message = str(error)[:2000]
            refund.updated_at = utcnow()
            db.session.commit()
        elif _leave_confirming(refund, "failed"):
            _failed(refund, str(error), retry=False)
        return
    if payout.status != "succeeded":
        refund.provider_status = payout.provider_status[:20] or None
        refund.provider_message = None
        refund.updated_at = utcnow()
        db.session.commit()
        return
    if _leave_confirming(refund, "sending"):
        refund.provider_status = payout.provider_status[:20] or None
        _confirmed(refund, payout)


def _leave_confirming(refund: Refund, status: str) -> bool:
    """Move a confirming refund on for this worker alone; False when another was first."""
    result = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == "confirming")
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    db.session.refresh(refund)
    return True


def _confirmed(refund: Refund, payout: Payout) -> None:
    """The platform did it: record its id (the store credit's code) and email the customer."""
    refund.provider_id = payout.provider_id[:100]
    refund.status = "succeeded"
    refund.provider_message = payout.message or None
    refund.confirmed_at = utcnow()
    db.session.flush()
    audit.record(
        refund.request,
        _platform(refund),
        "refund_confirmed",
        note=payout.provider_id,
        return_id=refund.return_id,
    )
    _email_settled(refund)


def _email_settled(refund: Refund) -> None:
    """Email the customer the settled outcome (the store credit's code with it) and commit."""
    return_ = refund.return_
    request = refund.request
    if return_ is None:  # the customer kept the items: the email about the request
        db.session.refresh(request)
        emails.queue_request_email("return_resolved", request)
        db.session.commit()
        return
    emails.queue_email(
        "return_resolved",
        request.customer_email,
        request.language,
        shop=return_.shop,
        request=request,
        return_=return_,
        refund=refunds.refund_breakdown(request),
    )
    db.session.commit()


def retry_refund(refund: Refund, user: User) -> bool:
    """Support sends a failed refund again (with its same key: never twice); False when it
    is not failed (a colleague was first)."""
    result = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == "failed")
        .values(status="pending", attempts=0, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        db.session.rollback()
        return False
    audit.record(refund.request, user, "refund_retried", return_id=refund.return_id)
    db.session.commit()
    start_refund_job(refund.id)
    return True


def mark_refunded(refund: Refund, user: User) -> bool:
    """Staff refunded by hand in the shop's back office: a manual refund waiting for that, or
    one the platform failed to make. The customer is emailed the settled outcome now: on
    resolving a manual one they were told only what to expect. False when it is neither (a
    colleague was first)."""
    result = db.session.execute(
        update(Refund)
        .where(
            Refund.id == refund.id,
            or_(
                (Refund.status == "pending") & (Refund.destination == MANUAL),
                Refund.status == "failed",
            ),
        )
        .values(status="succeeded", confirmed_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        db.session.rollback()
        return False
    db.session.expire(refund)
    audit.record(refund.request, user, "refund_marked", return_id=refund.return_id)
    _email_settled(refund)
    return True


def sweep_refunds(now=None) -> int:
    """Hand platform refunds left pending (in-process retry, Redis down) or stuck in a dead
    worker to the refund job again, each after its backoff, and the refunds a provider has
    yet to pay out to ``follow_refund`` every ``FOLLOW_INTERVAL``; returns how many."""
    now = now or utcnow()
    db.session.execute(
        update(Refund)
        .where(Refund.status == "sending", Refund.updated_at < now - STALE_REFUND_JOB)
        .values(status="pending")
    )
    conditions = [Refund.attempts == 0]
    for attempts, seconds in enumerate(RETRY_INTERVALS, start=1):
        conditions.append(
            (Refund.attempts == attempts) & (Refund.updated_at < now - timedelta(seconds=seconds))
        )
    ids = db.session.scalars(
        select(Refund.id).where(
            Refund.status == "pending", Refund.destination != MANUAL, or_(*conditions)
        )
    ).all()
    following = db.session.scalars(
        select(Refund.id).where(
            Refund.status == "confirming", Refund.updated_at < now - FOLLOW_INTERVAL
        )
    ).all()
    db.session.commit()
    for refund_id in ids:
        start_refund_job(refund_id)
    for refund_id in following:
        enqueue(
            "follow_refund", refund_id, job_id=f"follow-refund-{refund_id}-{now.timestamp():.0f}"
        )
    return len(ids) + len(following)
