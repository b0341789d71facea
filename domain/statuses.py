"""Every status, decision, condition, resolution, role, severity and action in words (NL/EN
through Flask-Babel), with its badge colour: the screens, the emails, the exports and a
request's history read them here, and no other module writes such a word.

The names themselves are the column values in ``models`` (``APPROVED``, ``RETURN_RECEIVED``,
``LINE_CONDITIONS``…), and the dicts are keyed by them: tests/test_statuses.py checks that
every value a column may hold, and every action the audit trail writes, has its words here.
The API answers with the codes, never with these words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from models import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    CONDITION_DAMAGED,
    CONDITION_MISSING,
    CONDITION_OK,
    CONDITION_WRONG_ITEM,
    DISPOSE,
    EXPIRED,
    LABEL_CREATED,
    NEW,
    NOTIFY_CUSTOMER_REPLY,
    NOTIFY_EMAIL_FAILED,
    NOTIFY_HOLD_TAKEN_OVER,
    NOTIFY_LABEL_FAILED,
    NOTIFY_NEW_REQUEST,
    ON_HOLD,
    REFUND_FULL,
    REFUND_NONE,
    REFUND_PARTIAL,
    REFURBISH,
    RESTOCK,
    RETURN_CANCELLED,
    RETURN_DELIVERED,
    RETURN_IN_TRANSIT,
    RETURN_LABEL_CREATED,
    RETURN_RECEIVED,
    RETURN_RESOLVED,
)

if TYPE_CHECKING:
    from models import AuditEvent

# A return request (Aanvraag), as staff read it.
STATUS_LABELS = {
    NEW: _l("New"),
    CONCEPT: _l("Concept"),
    ON_HOLD: _l("On hold"),
    APPROVED: _l("Approved"),
    CANCELLED: _l("Cancelled"),
    LABEL_CREATED: _l("Label created"),
    COMPLETED: _l("Completed"),
    EXPIRED: _l("Expired"),
}

STATUS_BADGES = {
    NEW: "primary",
    CONCEPT: "secondary",
    ON_HOLD: "warning",
    APPROVED: "success",
    CANCELLED: "danger",
    LABEL_CREATED: "info",
    COMPLETED: "dark",
    EXPIRED: "secondary",
}

# What the customer reads on the status page: the status in words and what happens next.
CUSTOMER_STATUS_WORDS = {
    NEW: (_l("Received"), _l("We have received your request. The shop will review it soon.")),
    CONCEPT: (_l("In review"), _l("The shop is reviewing your request.")),
    ON_HOLD: (_l("In review"), _l("The shop is reviewing your request.")),
    APPROVED: (
        _l("Approved"),
        _l("Your return is approved. Create your return label and send the items back."),
    ),
    CANCELLED: (
        _l("Not approved"),
        _l("The shop did not approve this request. We have emailed you why."),
    ),
    LABEL_CREATED: (
        _l("Return label created"),
        _l("Pack the items, stick the label on the parcel and hand it to the carrier."),
    ),
    COMPLETED: (_l("Completed"), _l("Your return has been handled.")),
    EXPIRED: (
        _l("Expired"),
        _l(
            "No return label was created before the ship-by date. Contact the shop if you "
            "still want to return the items."
        ),
    ),
}

# The status page of a request whose label is made, once its parcel moves on (or the label
# is cancelled): the shipment's journey, in the customer's words.
CUSTOMER_RETURN_WORDS = {
    RETURN_IN_TRANSIT: (
        _l("On its way"),
        _l("Your parcel is on its way to the shop."),
    ),
    RETURN_DELIVERED: (
        _l("Delivered"),
        _l("Your parcel has arrived at the shop. The shop will check the items soon."),
    ),
    RETURN_RECEIVED: (
        _l("Received and checked"),
        _l(
            "The shop received your parcel and checked the items. We will let you know when "
            "your return is settled."
        ),
    ),
    RETURN_CANCELLED: (
        _l("Return label cancelled"),
        _l(
            "Your return label was cancelled and can no longer be used: do not send a parcel with it."
        ),
    ),
}

# The status page of an approved request whose customer keeps the items (no label, no fee).
KEPT_ITEMS_WORDS = (
    _l("Approved"),
    _l("Your request is approved and you may keep the items: there is nothing to send back."),
)

# The steps of the progress tracker on the customer's status page, in order; the last one is
# named by the resolution (``CUSTOMER_SETTLED_STEPS``). Kept items skip the parcel's steps.
REQUESTED_STEP, APPROVED_STEP, LABEL_STEP, SENT_STEP, RECEIVED_STEP, SETTLED_STEP = range(6)
CUSTOMER_PROGRESS_STEPS = (
    _l("Request sent"),
    _l("Approved"),
    _l("Label made"),
    _l("On its way"),
    _l("Received"),
)
CUSTOMER_SETTLED_STEPS = {
    "refund": _l("Refunded"),
    "exchange": _l("Exchanged"),
    "store_credit": _l("Store credit issued"),
}

# A return (Retour, the shipment).
RETURN_STATUS_LABELS = {
    RETURN_LABEL_CREATED: _l("Label created"),
    RETURN_IN_TRANSIT: _l("In transit"),
    RETURN_DELIVERED: _l("Delivered"),
    RETURN_RECEIVED: _l("Received"),
    RETURN_RESOLVED: _l("Resolved"),
    RETURN_CANCELLED: _l("Cancelled"),
}

RETURN_STATUS_BADGES = {
    RETURN_LABEL_CREATED: "info",
    RETURN_IN_TRANSIT: "primary",
    RETURN_DELIVERED: "secondary",
    RETURN_RECEIVED: "warning",
    RETURN_RESOLVED: "success",
    RETURN_CANCELLED: "danger",
}

# The label job's progress on a return (``Return.label_status``).
LABEL_STATUS_LABELS = {
    "pending": _l("Label being created"),
    "working": _l("Label being created"),
    "ready": _l("Label ready"),
    "failed": _l("Label failed"),
    "cancelled": _l("Label voided"),
}

LABEL_STATUS_BADGES = {
    "pending": "light",
    "working": "light",
    "ready": "info",
    "failed": "danger",
    "cancelled": "danger",
}

# The refund job's progress on a refund or store credit (``Refund.status``).
REFUND_STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "confirming": _l("Awaiting the provider"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
}

REFUND_STATUS_BADGES = {
    "pending": "secondary",
    "sending": "info",
    "confirming": "info",
    "succeeded": "success",
    "failed": "danger",
}

# A payment provider's own status of a refund it accepted (Mollie's ``refund.status``),
# shown beside the job's while it is "confirming".
PROVIDER_REFUND_STATUS_LABELS = {
    "queued": _l("Queued"),
    "pending": _l("Pending"),
    "processing": _l("Processing"),
    "refunded": _l("Refunded"),
    "failed": _l("Failed"),
    "canceled": _l("Cancelled"),
}

# The agent's decision on one request line.
LINE_DECISION_LABELS = {
    "open": _l("open"),
    "approved": _l("may be returned"),
    "rejected": _l("rejected"),
}

LINE_DECISION_BADGES = {"open": "light", "approved": "success", "rejected": "danger"}

# What was found in the parcel, line by line.
CONDITION_LABELS = {
    CONDITION_OK: _l("OK"),
    CONDITION_DAMAGED: _l("Damaged"),
    CONDITION_WRONG_ITEM: _l("Wrong item"),
    CONDITION_MISSING: _l("Missing"),
}

# What becomes of a received item, and what the inspection suggests for each condition.
DISPOSITION_LABELS = {
    RESTOCK: _l("Back in stock"),
    REFURBISH: _l("Refurbish"),
    DISPOSE: _l("Dispose of"),
}
DISPOSITION_BADGES = {RESTOCK: "success", REFURBISH: "warning", DISPOSE: "danger"}
DEFAULT_DISPOSITION = {
    CONDITION_OK: RESTOCK,
    CONDITION_DAMAGED: REFURBISH,
    CONDITION_WRONG_ITEM: RESTOCK,
    CONDITION_MISSING: None,
}

# What staff decide to pay for a received line (``ReturnRequestLine.refund_choice``), apart
# from what was found; "default" on the receive form leaves it to ``refunds.default_refund_choice``.
REFUND_CHOICE_LABELS = {
    REFUND_FULL: _l("Full refund"),
    REFUND_PARTIAL: _l("Partial refund"),
    REFUND_NONE: _l("No refund"),
}

# Why a refund line is not (fully) refunded (``refunds.RefundLine.note``): the line was
# rejected, it came back in a condition other than OK (the condition's code), fewer units
# came back than were asked for, or staff chose to pay part or nothing of an item found OK.
REJECTED = "rejected"
FEWER_RECEIVED = "fewer_received"
PARTLY_REFUNDED = "partly_refunded"
NOT_REFUNDED = "not_refunded"
REFUND_NOTE_LABELS = {
    REJECTED: _l("Not approved for return"),
    CONDITION_DAMAGED: _l("Received damaged"),
    CONDITION_WRONG_ITEM: _l("Not the right item"),
    CONDITION_MISSING: _l("Not received"),
    FEWER_RECEIVED: _l("Fewer received than requested"),
    PARTLY_REFUNDED: _l("Partly refunded"),
    NOT_REFUNDED: _l("Not refunded"),
}

# Why an item may not go back (``returnability``), as the customer reads it after "cannot be
# returned: ". ``NOT_RETURNABLE`` is the platform's own flag on the order line. The legal
# exceptions also hold against the statutory right of withdrawal; the others do not.
NOT_RETURNABLE = "not_returnable"
NON_RETURNABLE_REASONS = {
    "final_sale": _l("final sale"),
    "hygiene": _l("hygiene product, for hygiene reasons once unsealed"),
    "custom_made": _l("made to your specification"),
    "gift_card": _l("gift card"),
    NOT_RETURNABLE: _l("the shop does not take this item back"),
}
LEGAL_EXCEPTIONS = ("hygiene", "custom_made")

# What the customer gets for a return.
RESOLUTION_LABELS = {
    "refund": _l("Refund"),
    "exchange": _l("Exchange"),
    "store_credit": _l("Store credit"),
}

# What the customer gets for a return, as a heading: on the customer's status page, and on
# the staff's request and return pages (``settlement.Settlement``).
SETTLEMENT_HEADINGS = {
    "refund": _l("Your refund"),
    "exchange": _l("Your exchange"),
    "store_credit": _l("Your store credit"),
}
SETTLEMENT_STAFF_HEADINGS = {
    "refund": _l("Refund the customer will get"),
    "exchange": _l("Exchange the customer will get"),
    "store_credit": _l("Store credit the customer will get"),
}
# The amount's row of a breakdown; an exchange pays no amount.
SETTLEMENT_TOTAL_LABELS = {
    "refund": _l("Refund total"),
    "store_credit": _l("Store credit total"),
}
# The return fee's row of a breakdown: what it is taken from.
SETTLEMENT_FEE_LABELS = {
    "refund": _l("Return fee (deducted from the refund)"),
    "exchange": _l("Return fee"),
    "store_credit": _l("Return fee (deducted from the store credit)"),
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

# Each email a shop may word itself (``templates/email/NAME.*``), named for the email editor.
EMAIL_LABELS = {
    "request_confirmation": _l("Request received (to the customer)"),
    "withdrawal_acknowledgement": _l("Withdrawal acknowledged (to the customer)"),
    "request_approved": _l("Request approved (to the customer)"),
    "request_cancelled": _l("Request not approved (to the customer)"),
    "return_label": _l("Return label (to the customer)"),
    "label_cancelled": _l("Return label cancelled, make a new one (to the customer)"),
    "return_received": _l("Return received (to the customer)"),
    "return_resolved": _l("Return settled (to the customer)"),
    "ship_by_reminder": _l("Reminder of the ship-by date (to the customer)"),
    "request_expired": _l("Request expired, no label by the ship-by date (to the customer)"),
    "message_to_customer": _l("Message from the shop (to the customer)"),
    "request_new_staff": _l("New request (to the shop's staff)"),
    "reply_received": _l("The customer replied (to the shop's staff)"),
    "staff_notification": _l("A notification (to a staff member)"),
}

EMAIL_STATUS_BADGES = {
    "pending": "secondary",
    "sending": "info",
    "sent": "success",
    "failed": "danger",
}

# A webhook delivery, as the shop's admins read it under "Webhook deliveries".
WEBHOOK_DELIVERY_STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
    "skipped": _l("Skipped"),
}

WEBHOOK_DELIVERY_STATUS_BADGES = {
    "pending": "secondary",
    "sending": "info",
    "delivered": "success",
    "failed": "danger",
    "skipped": "light",
}

# The last order sync of a shop's platform connection (``models.SYNC_STATES``).
SYNC_STATE_LABELS = {
    "running": _l("Running"),
    "ok": _l("Succeeded"),
    "failed": _l("Failed"),
}

SYNC_STATE_BADGES = {"running": "info", "ok": "success", "failed": "danger"}

# A notice (melding) on a request: its weight; a warning or danger notice blocks automatic
# approval. The codes are Bootstrap's alert colours.
SEVERITY_LABELS = {"info": _l("Info"), "warning": _l("Warning"), "danger": _l("Danger")}
SEVERITY_BADGES = {"info": "info", "warning": "warning", "danger": "danger"}

# What a notice rule may do to a request it starts to match (``NoticeRule.action``).
FREE_SHIPPING_ON = "free_shipping_on"
FREE_SHIPPING_OFF = "free_shipping_off"
MOVE_TO_STAGE = "move_to_stage"
MOVE_TO_CONCEPT = "move_to_concept"
APPROVE = "approve"
NOTICE_ACTION_LABELS = {
    FREE_SHIPPING_ON: _l("Set free shipping on"),
    FREE_SHIPPING_OFF: _l("Set free shipping off"),
    MOVE_TO_STAGE: _l("Move to a review stage"),
    MOVE_TO_CONCEPT: _l("Move to concept"),
    APPROVE: _l("Approve automatically"),
}

# What staff can do to a request: the buttons of its page and of the list, and the bulk
# actions (``workflow.BULK_SOURCES`` names the ones that run in bulk).
REQUEST_ACTION_LABELS = {
    "hold": _l("Hold"),
    "release": _l("Release"),
    "take_over": _l("Take over"),
    "approve": _l("Approve"),
    "approve_keep": _l("Approve, customer keeps the items"),
    "concept": _l("Set to concept"),
    "back_to_new": _l("Back to new"),
    "cancel": _l("Cancel"),
    "reopen": _l("Reopen"),
    "new_ship_by": _l("Give a new ship-by date"),
    "settle": _l("Settle"),
    "label_again": _l("Let the customer make a new label"),
    "free_shipping_on": _l("Free shipping on"),
    "free_shipping_off": _l("Free shipping off"),
    "stage": _l("Move to review stage"),
}

# What staff can do to a return, in the order of the journey: the buttons of its page and
# of the list, and the list's bulk actions.
RETURN_STEP_LABELS = {
    "in_transit": _l("In transit"),
    "delivered": _l("Delivered"),
    "received": _l("Received (all items OK)"),
    "refund": _l("Resolve: refund"),
    "cancel": _l("Cancel return"),
}

# What a request's history says someone did: every ``AuditEvent.action`` written anywhere.
# Read after the actor's name ("Anna · approved"); a bulk action's summary reads them too
# ("118 approved").
AUDIT_LABELS = {
    # The customer, on the portal.
    "submitted": _l("submitted"),
    "withdrawal": _l("withdrew from the contract"),
    "link_resent": _l("asked for the link to the request again"),
    # Staff, the API and notice rules on the request.
    "concept": _l("set to concept"),
    "back_to_new": _l("back to new"),
    "hold": _l("held"),
    "release": _l("released"),
    "take_over": _l("took the hold over"),
    "stage": _l("moved to the review stage"),
    "free_shipping_on": _l("free shipping on"),
    "free_shipping_off": _l("free shipping off"),
    "link_renewed": _l("renewed the customer's link"),
    "line_approved": _l("accepted an item"),
    "line_rejected": _l("rejected an item"),
    "approve": _l("approved"),
    "approve_keep": _l("approved, customer keeps the items"),
    "cancel": _l("cancelled"),
    "reopen": _l("reopened"),
    "label_again": _l("approved again for a new return label"),
    "email_off": _l("did not email the customer (the shop turned this email off)"),
    "ship_by_reminded": _l("reminded the customer of the ship-by date"),
    "expire": _l("expired: no return label by the ship-by date"),
    "new_ship_by": _l("gave a new ship-by date"),
    "label_created": _l("created the return label"),
    "complete": _l("completed"),
    # The conversation with the customer.
    "message_sent": _l("sent a message to the customer"),
    "note_added": _l("added an internal note"),
    "customer_replied": _l("replied"),
    # Notices.
    "notice_raised": _l("raised a notice"),
    "notice_cleared": _l("cleared a notice"),
    "notice_added": _l("added a notice"),
    "notice_removed": _l("removed a notice"),
    # The return (shipment): its label, the carrier's tracking and the staff steps.
    "return_created": _l("asked for a return label"),
    "label_ready": _l("made the return label"),
    "label_failed": _l("could not make the return label"),
    "email_failed": _l("could not send an email"),
    "label_recreated": _l("asked for the return label again"),
    "tracking_in_transit": _l("reported the parcel in transit"),
    "tracking_delivered": _l("reported the parcel delivered"),
    "tracking_cancelled": _l("reported the label cancelled"),
    "in_transit": _l("marked in transit"),
    "delivered": _l("marked delivered"),
    "received": _l("received and inspected the parcel"),
    "resolved_refund": _l("resolved with a refund"),
    "resolved_exchange": _l("resolved with an exchange"),
    "resolved_store_credit": _l("resolved with store credit"),
    "return_cancelled": _l("cancelled the return"),
    "refund_confirmed": _l("confirmed the refund or store credit"),
    "refund_failed": _l("could not carry out the refund or store credit"),
    "refund_retried": _l("sent the refund or store credit again"),
    "refund_marked": _l("marked the refund as done in the shop's back office"),
    # Support's editors (no request: kept for the record).
    "reason_created": _l("added a return reason"),
    "reason_changed": _l("changed a return reason"),
    "reason_deleted": _l("deleted a return reason"),
    "reason_moved": _l("moved a return reason in the form"),
    "question_created": _l("added a form question"),
    "question_changed": _l("changed a form question"),
    "question_deleted": _l("deleted a form question"),
    "question_moved": _l("moved a form question"),
    "rule_created": _l("added a notice rule"),
    "rule_changed": _l("changed a notice rule"),
    "rule_deleted": _l("deleted a notice rule"),
    "email_template_created": _l("added an email template"),
    "email_template_changed": _l("changed an email template"),
    "email_template_deleted": _l("deleted an email template"),
    "email_template_reset": _l("reset an email template to the default"),
    # A customer's personal data (services.customer_data; no request: kept for the record).
    "customer_data_exported": _l("exported a customer's data"),
    "customer_erased": _l("erased a customer's personal data"),
    "requests_anonymised": _l("anonymised requests past the shop's retention period"),
}


# What a request's or a return's history says happened, as a sentence: ``%(who)s`` is who
# did it (a person, the customer, a rule, an API key, a carrier). What the event noted (a
# reason, the tracking number, what was found) follows the sentence; see ``history_sentence``.
AUDIT_SENTENCES = {
    "submitted": _l("%(who)s submitted the request"),
    "withdrawal": _l("%(who)s withdrew from the contract"),
    "link_resent": _l("%(who)s asked for the link to the request again"),
    "concept": _l("%(who)s set the request to concept"),
    "back_to_new": _l("%(who)s set the request back to new"),
    "hold": _l("%(who)s put the request on hold"),
    "release": _l("%(who)s released the hold"),
    "take_over": _l("%(who)s took the hold over"),
    "stage": _l("%(who)s moved the request to a review stage"),
    "free_shipping_on": _l("%(who)s made the return shipping free"),
    "free_shipping_off": _l("%(who)s made the customer pay the return shipping"),
    "link_renewed": _l("%(who)s renewed the customer's link"),
    "line_approved": _l("%(who)s accepted an item"),
    "line_rejected": _l("%(who)s rejected an item"),
    "approve": _l("%(who)s approved the request"),
    "approve_keep": _l("%(who)s approved the request; the customer keeps the items"),
    "cancel": _l("%(who)s cancelled the request"),
    "reopen": _l("%(who)s reopened the request"),
    "label_again": _l("%(who)s let the customer make a new return label"),
    "email_off": _l("%(who)s did not email the customer, as the shop turned this email off"),
    "ship_by_reminded": _l("%(who)s reminded the customer of the ship-by date"),
    "expire": _l("%(who)s expired the request: no return label was created by the ship-by date"),
    "new_ship_by": _l("%(who)s gave the customer a new ship-by date"),
    "label_created": _l("%(who)s created the return label"),
    "complete": _l("%(who)s completed the request"),
    "message_sent": _l("%(who)s sent the customer a message"),
    "note_added": _l("%(who)s added an internal note"),
    "customer_replied": _l("%(who)s replied"),
    "notice_raised": _l("A notice was raised by %(who)s"),
    "notice_cleared": _l("A notice was cleared by %(who)s"),
    "notice_added": _l("%(who)s added a notice"),
    "notice_removed": _l("%(who)s removed a notice"),
    "return_created": _l("%(who)s created a return label"),
    "label_ready": _l("The return label was made"),
    "label_failed": _l("The return label could not be made"),
    "email_failed": _l("An email could not be sent"),
    "label_recreated": _l("%(who)s asked for the return label again"),
    "tracking_in_transit": _l("%(who)s reported the parcel in transit"),
    "tracking_delivered": _l("%(who)s reported the parcel delivered"),
    "tracking_cancelled": _l("%(who)s reported the label cancelled"),
    "in_transit": _l("%(who)s marked the return in transit"),
    "delivered": _l("%(who)s marked the return delivered"),
    "received": _l("%(who)s received and inspected the parcel"),
    "resolved_refund": _l("%(who)s settled the return with a refund"),
    "resolved_exchange": _l("%(who)s settled the return with an exchange"),
    "resolved_store_credit": _l("%(who)s settled the return with store credit"),
    "return_cancelled": _l("%(who)s cancelled the return"),
    "refund_confirmed": _l("%(who)s confirmed the refund or store credit"),
    "refund_failed": _l("%(who)s could not carry out the refund or store credit"),
    "refund_retried": _l("%(who)s sent the refund or store credit again"),
    "refund_marked": _l("%(who)s marked the refund as done in the shop's back office"),
    "reason_created": _l("%(who)s added a return reason"),
    "reason_changed": _l("%(who)s changed a return reason"),
    "reason_deleted": _l("%(who)s deleted a return reason"),
    "reason_moved": _l("%(who)s moved a return reason in the form"),
    "question_created": _l("%(who)s added a form question"),
    "question_changed": _l("%(who)s changed a form question"),
    "question_deleted": _l("%(who)s deleted a form question"),
    "question_moved": _l("%(who)s moved a form question"),
    "rule_created": _l("%(who)s added a notice rule"),
    "rule_changed": _l("%(who)s changed a notice rule"),
    "rule_deleted": _l("%(who)s deleted a notice rule"),
    "email_template_created": _l("%(who)s added an email template"),
    "email_template_changed": _l("%(who)s changed an email template"),
    "email_template_deleted": _l("%(who)s deleted an email template"),
    "email_template_reset": _l("%(who)s reset an email template to the default"),
    "customer_data_exported": _l("%(who)s exported a customer's data"),
    "customer_erased": _l("%(who)s erased a customer's personal data"),
    "requests_anonymised": _l(
        "%(who)s anonymised closed requests past the shop's retention period"
    ),
}

# The kinds of notification a staff user gets (the bell; also by email if they choose), as
# the choice on the notifications page names them.
NOTIFICATION_KIND_LABELS = {
    NOTIFY_NEW_REQUEST: _l("New requests in my shops"),
    NOTIFY_CUSTOMER_REPLY: _l("Customer replies on requests I hold or last worked on"),
    NOTIFY_HOLD_TAKEN_OVER: _l("Holds taken over from me"),
    NOTIFY_LABEL_FAILED: _l("Return labels that could not be made"),
    NOTIFY_EMAIL_FAILED: _l("Emails that could not be sent"),
}

# One notification as its reader sees it: ``%(number)s`` is the request's number,
# ``%(customer)s`` its customer and ``%(who)s`` who acted (see ``notification_sentence``).
NOTIFICATION_SENTENCES = {
    NOTIFY_NEW_REQUEST: _l("New request %(number)s from %(customer)s"),
    NOTIFY_CUSTOMER_REPLY: _l("%(customer)s replied on request %(number)s"),
    NOTIFY_HOLD_TAKEN_OVER: _l("%(who)s took over your hold on request %(number)s"),
    NOTIFY_LABEL_FAILED: _l("The return label of request %(number)s could not be made"),
    NOTIFY_EMAIL_FAILED: _l("An email about request %(number)s could not be sent"),
}

# When a notice rule ran (the note of ``notice_raised``/``notice_cleared``).
NOTICE_TRIGGER_LABELS = {
    "submitted": _l("when the request was submitted"),
    "changed": _l("after a change to the request"),
}

# Who acted when no staff member did: the stored ``AuditEvent.actor_label`` of the customer,
# or none at all (ReturnDesk itself).
CUSTOMER_ACTOR = "customer"


def event_actor(event: AuditEvent) -> str:
    """Who did what an audit event records, in the reader's language."""
    if event.actor is not None:
        return event.actor.name
    if event.actor_label == CUSTOMER_ACTOR:
        return str(_l("The customer"))
    return event.actor_label or "ReturnDesk"


# A request whose customer keeps the items is settled on the request, without a return.
KEPT_ITEMS_SETTLED_SENTENCES = {
    "resolved_refund": _l(
        "%(who)s settled the request with a refund; the customer keeps the items"
    ),
    "resolved_exchange": _l(
        "%(who)s settled the request with an exchange; the customer keeps the items"
    ),
    "resolved_store_credit": _l(
        "%(who)s settled the request with store credit; the customer keeps the items"
    ),
}


def history_sentence(event: AuditEvent, carrier_name: Callable[[str], str] = str) -> str:
    """What an audit event records, as a sentence in the reader's language: "Anna approved
    the request (New → Approved).", "A notice was raised by rule 'X' when the request was
    submitted.", "The customer created a return label (Own label)." ``carrier_name`` names
    a carrier code (the carriers live in services)."""
    kept = event.return_id is None and event.action in KEPT_ITEMS_SETTLED_SENTENCES
    sentences = KEPT_ITEMS_SETTLED_SENTENCES if kept else AUDIT_SENTENCES
    sentence = str(sentences.get(event.action, event.action) % {"who": event_actor(event)})
    note = event.note
    if event.action in ("notice_raised", "notice_cleared"):
        trigger = NOTICE_TRIGGER_LABELS.get(note or "")
        sentence, note = (f"{sentence} {trigger}" if trigger else sentence), None
    elif event.action == "return_created" and note:
        sentence, note = f"{sentence} ({carrier_name(note)})", None
    elif event.action in ("email_off", "email_failed") and note:
        note = str(EMAIL_LABELS.get(note, note))
    if event.from_status and event.to_status and event.from_status != event.to_status:
        moved = f"{event_status_label(event, event.from_status)} → "
        sentence += f" ({moved}{event_status_label(event, event.to_status)})"
    return f"{sentence}: {note}" if note else f"{sentence}."


def notification_sentence(kind: str, event: AuditEvent, number: str, customer: str) -> str:
    """A notification in the reader's language: "Anna took over your hold on request
    R-2026-00042." What the event noted (the carrier's message, which email) follows."""
    sentence = str(
        NOTIFICATION_SENTENCES[kind]
        % {"number": number, "customer": customer, "who": event_actor(event)}
    )
    note = event.note if kind in (NOTIFY_LABEL_FAILED, NOTIFY_EMAIL_FAILED) else None
    if note and kind == NOTIFY_EMAIL_FAILED:
        note = str(EMAIL_LABELS.get(note, note))
    return f"{sentence}: {note}" if note else f"{sentence}."


def status_label(status: str) -> str:
    """A request's status in the reader's language."""
    return str(STATUS_LABELS.get(status, status))


def return_status_label(status: str) -> str:
    """A return's status in the reader's language."""
    return str(RETURN_STATUS_LABELS.get(status, status))


def audit_label(action: str) -> str:
    """What an audit event says was done, in the reader's language."""
    return str(AUDIT_LABELS.get(action, action))


def event_status_label(event: AuditEvent, status: str | None) -> str:
    """A status an audit event moved from or to: a return's event names the return's."""
    if status is None:
        return "–"
    if event.return_id is not None:
        return return_status_label(status)
    return status_label(status)


def badge(status: str, labels: dict, badges: dict) -> Markup:
    """A coloured Bootstrap badge with the status in words."""
    return Markup('<span class="badge badge-{}">{}</span>').format(
        badges.get(status, "light"), labels.get(status, status)
    )


def status_badge(status: str) -> Markup:
    return badge(status, STATUS_LABELS, STATUS_BADGES)


def return_badge(status: str) -> Markup:
    return badge(status, RETURN_STATUS_LABELS, RETURN_STATUS_BADGES)


def label_badge(label_status: str) -> Markup:
    return badge(label_status, LABEL_STATUS_LABELS, LABEL_STATUS_BADGES)


def decision_badge(decision: str) -> Markup:
    return badge(decision, LINE_DECISION_LABELS, LINE_DECISION_BADGES)
