"""A refund or store credit as staff see it, on a return's page (a returned parcel) and on a
request's page (the customer kept the items): where it went, its state, and the buttons
"Retry" and "Mark as refunded", both carried out by ``services.refund_jobs``."""

from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from domain import tenancy
from domain.formatting import money
from domain.statuses import (
    PROVIDER_REFUND_STATUS_LABELS,
    REFUND_STATUS_BADGES,
    REFUND_STATUS_LABELS,
    RESOLUTION_LABELS,
)
from models import MANUAL, Refund, User
from services import refund_jobs
from services.connectors.registry import PLATFORM_NAMES

# The buttons of a payout panel, posted to the page's "act".
PAYOUT_ACTIONS = ("retry_refund", "mark_refunded")


def payout_panel(refund: Refund | None) -> dict | None:
    """The refund or store credit as the page shows it (plain data): where it went, its state
    and amount, the platform's id or message, and which button (retry, mark as refunded) the
    current user gets."""
    if refund is None:
        return None
    manual = refund.destination == MANUAL
    credit = refund.kind == "store_credit"
    return {
        "kind": refund.kind,
        "kind_label": str(RESOLUTION_LABELS.get(refund.kind, refund.kind)),
        "manual": manual,
        "platform": PLATFORM_NAMES.get(refund.destination, refund.destination),
        "status": refund.status,
        "status_label": str(REFUND_STATUS_LABELS[refund.status]),
        "badge": REFUND_STATUS_BADGES[refund.status],
        "amount": money(refund.amount_cents, refund.currency),
        "provider_id": refund.provider_id or "",
        "message": refund.provider_message or "",
        "provider_status": str(
            PROVIDER_REFUND_STATUS_LABELS.get(refund.provider_status or "", refund.provider_status)
            or ""
        ),
        "may_retry": refund.status == "failed"
        and tenancy.may_touch(current_user, refund.shop_id, "admin"),
        "may_mark": (manual and refund.status == "pending") or refund.status == "failed",
        "mark_label": _("Mark as issued") if credit else _("Mark as refunded"),
        "done_by_hand": _("Issued by hand in the shop's back office.")
        if credit
        else _("Refunded by hand in the shop's back office."),
    }


def act_on_refund(refund: Refund | None, chosen: str, user: User, number: str) -> None:
    """ "Retry" a failed refund (the shop's admins and support) or "Mark as refunded" one
    made by hand (the shop's staff); says what happened in a flash message."""
    if refund is None:
        abort(404)
    if chosen == "retry_refund":
        if not tenancy.may_touch(user, refund.shop_id, "admin"):
            abort(403)
        done = refund_jobs.retry_refund(refund, user)
    else:
        done = refund_jobs.mark_refunded(refund, user)
    if done:
        flash(_("%(number)s: done.", number=number), "success")
    else:
        flash(_("The refund changed meanwhile; see its state below."), "warning")
