"""Every status, resolution, condition, role and audit action in words (NL/EN through
Flask-Babel) with its badge colour: screens, emails, exports and the API read them here.

The names themselves are the column values in ``models`` (``APPROVED``, ``RETURN_RECEIVED``…).
"""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

# A return request (Aanvraag), as staff read it.
STATUS_LABELS = {
    "new": _l("New"),
    "concept": _l("Concept"),
    "on_hold": _l("On hold"),
    "approved": _l("Approved"),
    "cancelled": _l("Cancelled"),
    "label_created": _l("Label created"),
    "completed": _l("Completed"),
}

STATUS_BADGES = {
    "new": "primary",
    "concept": "secondary",
    "on_hold": "warning",
    "approved": "success",
    "cancelled": "danger",
    "label_created": "info",
    "completed": "dark",
}

# What the customer reads on the status page: the status in words and what happens next.
CUSTOMER_STATUS_WORDS = {
    "new": (_l("Received"), _l("We have received your request. The shop will review it soon.")),
    "concept": (_l("In review"), _l("The shop is reviewing your request.")),
    "on_hold": (_l("In review"), _l("The shop is reviewing your request.")),
    "approved": (
        _l("Approved"),
        _l("Your return is approved. Create your return label and send the items back."),
    ),
    "cancelled": (
        _l("Not approved"),
        _l("The shop did not approve this request. We have emailed you why."),
    ),
    "label_created": (
        _l("Return label created"),
        _l("Pack the items, stick the label on the parcel and hand it to the carrier."),
    ),
    "completed": (_l("Completed"), _l("Your return has been handled.")),
}

# A return (Retour, the shipment).
RETURN_STATUS_LABELS = {
    "label_created": _l("Label created"),
    "in_transit": _l("In transit"),
    "delivered": _l("Delivered"),
    "received": _l("Received"),
    "resolved": _l("Resolved"),
    "cancelled": _l("Cancelled"),
}

RETURN_STATUS_BADGES = {
    "label_created": "info",
    "in_transit": "primary",
    "delivered": "secondary",
    "received": "warning",
    "resolved": "success",
    "cancelled": "danger",
}

LABEL_STATUS_LABELS = {
    "pending": _l("Label being created"),
    "working": _l("Label being created"),
    "ready": _l("Label ready"),
    "failed": _l("Label failed"),
    "cancelled": _l("Label voided"),
}

# What was found in the parcel, line by line.
CONDITION_LABELS = {
    "ok": _l("OK"),
    "damaged": _l("Damaged"),
    "wrong_item": _l("Wrong item"),
    "missing": _l("Missing"),
}

# What the customer gets for a return.
RESOLUTION_LABELS = {
    "refund": _l("Refund"),
    "exchange": _l("Exchange"),
    "store_credit": _l("Store credit"),
}

# What a request's history says someone did.
AUDIT_LABELS = {
    "submitted": _l("submitted"),
    "concept": _l("set to concept"),
    "back_to_new": _l("back to new"),
    "hold": _l("held"),
    "release": _l("released"),
    "take_over": _l("took the hold over"),
    "stage": _l("moved to review stage"),
    "free_shipping_on": _l("free shipping on"),
    "link_renewed": _l("renewed the customer's link"),
    "free_shipping_off": _l("free shipping off"),
    "line_approved": _l("accepted an item"),
    "line_rejected": _l("rejected an item"),
    "approve": _l("approved"),
    "approve_keep": _l("approved, customer keeps the items"),
    "cancel": _l("cancelled"),
    "reopen": _l("reopened"),
    "label_created": _l("created the return label"),
    "complete": _l("completed"),
    "message_sent": _l("sent a message to the customer"),
    "note_added": _l("added an internal note"),
    "customer_replied": _l("replied"),
}

# A staff member's role in a shop.
ROLE_LABELS = {"admin": _l("Admin"), "agent": _l("Agent")}

# An email in the Outbox.
EMAIL_STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}

EMAIL_STATUS_BADGES = {
    "pending": "secondary",
    "sending": "info",
    "sent": "success",
    "failed": "danger",
}


def status_label(status: str) -> str:
    """A request's status in the reader's language."""
    return str(STATUS_LABELS.get(status, status))


def return_status_label(status: str) -> str:
    """A return's status in the reader's language."""
    return str(RETURN_STATUS_LABELS.get(status, status))


def badge(status: str, labels: dict, badges: dict) -> Markup:
    """A coloured Bootstrap badge with the status in words."""
    return Markup('<span class="badge badge-{}">{}</span>').format(
        badges.get(status, "light"), labels.get(status, status)
    )


def status_badge(status: str) -> Markup:
    return badge(status, STATUS_LABELS, STATUS_BADGES)


def return_badge(status: str) -> Markup:
    return badge(status, RETURN_STATUS_LABELS, RETURN_STATUS_BADGES)
