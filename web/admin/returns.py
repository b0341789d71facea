"""The "Returns" (Retouren) screens: the list of shipments, a return's page, carrier accounts.

Every staff step (in transit, delivered, received with inspection, resolved, cancelled) calls
workflow.py; this module only parses, checks access and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, SelectField

from domain import workflow
from domain.formatting import money, shop_time
from domain.refunds import RefundChoice
from domain.settlement import payout_of, settlement_summary
from domain.statuses import (
    CONDITION_LABELS,
    DISPOSITION_LABELS,
    LABEL_STATUS_LABELS,
    REFUND_CHOICE_LABELS,
    RESOLUTION_LABELS,
    RETURN_STATUS_LABELS,
    RETURN_STEP_LABELS,
    decision_badge,
    return_badge,
)
from extensions import db
from models import (
    LINE_CONDITIONS,
    REFUND_PARTIAL,
    RETURN_STATUSES,
    Refund,
    Return,
    ReturnRequest,
    ReturnRequestLine,
)
from services import exports, label_jobs, labels, refund_jobs, return_page, storage
from web.admin.base import ShopScopedView, row_ids
from web.admin.filters import CreatedFilter, KeyedFilter, KeyedFilterMenu, ShopFilter
from web.admin.payouts import PAYOUT_ACTIONS, act_on_refund, payout_panel
from web.int_args import parse_cents, parse_int
from web.same_site import safe_next


def all_inspected_ok(return_: Return) -> dict[int, tuple[str, int]]:
    """The inspection of a parcel that held exactly what was asked, all in good condition."""
    return {
        line.id: ("ok", line.quantity)
        for line in return_.request.lines
        if line.decision != "rejected"
    }


def perform_step(return_: Return, step: str, actor) -> Refund | None:
    """One staff step on one return (``RETURN_STEP_LABELS`` names them), through workflow.py;
    the refund to send after the commit, if the step made one."""
    steps: dict[str, Callable[[], Any]] = {
        "in_transit": lambda: workflow.mark_in_transit(return_, actor),
        "delivered": lambda: workflow.mark_delivered(return_, actor),
        "received": lambda: workflow.receive(return_, actor, all_inspected_ok(return_)),
        "refund": lambda: refund_jobs.resolve(return_, actor, "refund"),
        "cancel": lambda: labels.cancel_return(return_, actor),
    }
    done = steps[step]()
    return done if isinstance(done, Refund) else None


class ReturnFilter(KeyedFilter):
    """A filter on the list's rows; subclasses say how in ``apply``."""

    def __init__(self, name, options=None):
        super().__init__(name, Return.id, options)


class ReturnStatusFilter(ReturnFilter):
    key = "status"

    def options_for_user(self):
        options = [(status, str(RETURN_STATUS_LABELS[status])) for status in RETURN_STATUSES]
        return [*options, ("label_failed", str(LABEL_STATUS_LABELS["failed"]))]

    def apply(self, query, value, alias=None):
        if value == "label_failed":
            return query.filter(Return.label_status == "failed")
        return query.filter(Return.status == value)


class CarrierFilter(ReturnFilter):
    key = "carrier"

    def options_for_user(self):
        return [(code, str(adapter.name)) for code, adapter in labels.ADAPTERS.items()]

    def apply(self, query, value, alias=None):
        return query.filter(Return.carrier == value)


def _number_cell(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("returns.page", return_id=model.id), model.number
    )


def _request_cell(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("requests.page", request_id=model.request_id), model.request.number
    )


def _tracking_cell(view, context, model, name):
    if not model.tracking_number:
        return Markup('<span class="text-muted">{}</span>').format(
            LABEL_STATUS_LABELS.get(model.label_status, model.label_status)
        )
    if not model.tracking_url:
        return model.tracking_number
    return Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(
        model.tracking_url, model.tracking_number
    )


def _status_cell(view, context, model, name):
    badge = return_badge(model.status)
    if model.label_status == "failed":
        badge += Markup(' <span class="badge badge-danger" title="{}">{}</span>').format(
            model.label_error or "", LABEL_STATUS_LABELS["failed"]
        )
    return badge


class ReturnView(KeyedFilterMenu, ShopScopedView):
    """The "Returns" (Retouren) list. A return's status changes only through workflow.py."""

    change_role = "agent"  # the list's actions are the staff steps of workflow.py
    list_template = "admin/returns/list.html"
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    column_list = (
        "number",
        "request",
        "customer",
        "carrier",
        "tracking_number",
        "status",
        "cost_cents",
        "created_at",
    )
    column_sortable_list = ("number", "carrier", "status", "cost_cents", "created_at")
    column_searchable_list = (
        "number",
        "tracking_number",
        "request.number",
        "request.customer_email",
    )
    column_default_sort = ("created_at", True)
    column_labels = {
        "number": _l("Number"),
        "request": _l("Request"),
        "customer": _l("Customer"),
        "carrier": _l("Carrier"),
        "tracking_number": _l("Tracking number"),
        "status": _l("Status"),
        "cost_cents": _l("Cost"),
        "created_at": _l("Created"),
        "request.number": _l("Request"),
        "request.customer_email": _l("Customer email"),
    }
    column_formatters = {
        "number": _number_cell,
        "request": _request_cell,
        "customer": lambda v, c, m, p: m.request.customer_name,
        "carrier": lambda v, c, m, p: labels.carrier_name(m.carrier),
        "tracking_number": _tracking_cell,
        "status": _status_cell,
        "cost_cents": lambda v, c, m, p: money(m.cost_cents, m.shop.currency),
        "created_at": lambda v, c, m, p: shop_time(m.created_at, m.shop),
    }
    column_filters = (
        ReturnStatusFilter(_l("Status")),
        CarrierFilter(_l("Carrier")),
        ShopFilter(_l("Shop"), Return.shop_id),
        CreatedFilter(Return.created_at, _l("Created")),
    )

    def get_query(self):
        return super().get_query().options(joinedload(Return.request), joinedload(Return.shop))

    @expose("/")
    def index_view(self):
        """The list, whose rows offer the first staff steps (``workflow.allowed_return_actions``)."""
        self._template_args["step_labels"] = RETURN_STEP_LABELS
        self._template_args["allowed_steps"] = workflow.allowed_return_actions
        return super().index_view()

    def may_edit(self) -> bool:
        return False

    @expose("/received-items/<fmt>")
    def received_items(self, fmt: str):
        """What came back in the listed returns (as filtered now): one row per received item,
        its condition, and whether it went back in stock, to refurbishing or was disposed of."""
        rows = exports.received_item_rows(exports.filtered_query(self))
        return exports.export_response(
            fmt, exports.received_item_columns(), rows, _("received-items")
        )

    # Bulk actions: each return goes through workflow.py on its own; a refusal skips it.

    def run_step_on(self, ids: list[str], step: str) -> None:
        user = current_user._get_current_object()
        returns = self.get_query().filter(Return.id.in_(row_ids(ids))).all()
        done, refused = 0, []
        for return_ in returns:
            try:
                payout = perform_step(return_, step, user)
                db.session.commit()
                refund_jobs.send_after_commit(payout)
                done += 1
            except workflow.TransitionRefused as refusal:
                db.session.rollback()
                refused.append(str(refusal))
        flash(
            _("%(count)d returns: %(step)s.", count=done, step=RETURN_STEP_LABELS[step]),
            "success" if done else "warning",
        )
        for message in refused:
            flash(message, "danger")

    @action("in_transit", RETURN_STEP_LABELS["in_transit"])
    def action_in_transit(self, ids):
        self.run_step_on(ids, "in_transit")

    @action("delivered", RETURN_STEP_LABELS["delivered"])
    def action_delivered(self, ids):
        self.run_step_on(ids, "delivered")

    @action(
        "received",
        RETURN_STEP_LABELS["received"],
        _l("Mark the selected returns received, with every item OK?"),
    )
    def action_received(self, ids):
        self.run_step_on(ids, "received")

    @action("refund", RETURN_STEP_LABELS["refund"], _l("Refund the selected returns?"))
    def action_refund(self, ids):
        self.run_step_on(ids, "refund")

    @action("cancel", RETURN_STEP_LABELS["cancel"], _l("Void the labels of the selected returns?"))
    def action_cancel(self, ids):
        self.run_step_on(ids, "cancel")

    # A return's page.

    def load_return(self, return_id: int) -> Return:
        return_ = (
            self.get_query()
            .filter(Return.id == return_id)
            .options(
                joinedload(Return.request)
                .selectinload(ReturnRequest.lines)
                .selectinload(ReturnRequestLine.order_line)
            )
            .one_or_none()
        )
        if return_ is None:
            abort(404)
        return return_

    @expose("/<int:return_id>")
    def page(self, return_id: int):
        return_ = self.load_return(return_id)
        shown = return_page.build(return_)
        return self.render(
            "admin/returns/page.html",
            return_=shown,
            timeline=shown.timeline,
            settlement=settlement_summary(return_.request),
            payout=payout_panel(payout_of(return_)),
            return_badge=return_badge,
            label_status_labels=LABEL_STATUS_LABELS,
            condition_labels=CONDITION_LABELS,
            disposition_labels=DISPOSITION_LABELS,
            refund_choice_labels=REFUND_CHOICE_LABELS,
            conditions=LINE_CONDITIONS,
            resolve_labels=RESOLUTION_LABELS,
            return_status_labels=RETURN_STATUS_LABELS,
            step_labels=RETURN_STEP_LABELS,
            decision_badge=decision_badge,
            carrier_name=labels.carrier_name(return_.carrier),
            actions=workflow.allowed_return_actions(return_),
            request_actions=workflow.allowed_actions(
                return_.request, current_user._get_current_object()
            ),
        )

    @expose("/<int:return_id>/act", methods=("POST",))
    def act(self, return_id: int):
        """Every button of a return's page and the list's rows posts here."""
        return_ = self.load_return(return_id)
        chosen = request.form.get("action", "")
        user = current_user._get_current_object()
        payout = None
        try:
            if chosen in PAYOUT_ACTIONS:
                return self.act_on_refund(return_, chosen, user)
            if chosen == "receive":
                workflow.receive(
                    return_,
                    user,
                    self.inspections_from_form(return_),
                    self.dispositions_from_form(return_),
                    self.refund_choices_from_form(return_),
                )
            elif chosen == "resolve":
                payout = refund_jobs.resolve(return_, user, request.form.get("kind", ""))
            elif chosen == "recreate":
                workflow.recreate_label(return_, user)
            elif chosen in ("in_transit", "delivered", "cancel"):
                perform_step(return_, chosen, user)
            else:
                abort(400)
            db.session.commit()
            if chosen == "recreate":
                label_jobs.start_label_job(return_.id)
            refund_jobs.send_after_commit(payout)
            flash(_("%(number)s: done.", number=return_.number), "success")
        except workflow.TransitionRefused as refused:
            db.session.rollback()
            flash(str(refused), "danger")
        return redirect(safe_next(request.form.get("next"), url_for(".page", return_id=return_id)))

    def act_on_refund(self, return_: Return, chosen: str, user):
        """ "Retry" or "Mark as refunded" the return's refund (``payouts.act_on_refund``)."""
        back = redirect(safe_next(request.form.get("next"), url_for(".page", return_id=return_.id)))
        act_on_refund(payout_of(return_), chosen, user, return_.number)
        return back

    @staticmethod
    def inspections_from_form(return_: Return) -> dict[int, tuple[str, int]]:
        """``condition-<line id>`` and ``quantity-<line id>`` for every returned line."""
        inspections = {}
        for line in return_.request.lines:
            if line.decision == "rejected":
                continue
            condition = request.form.get(f"condition-{line.id}", "")
            quantity = parse_int(request.form.get(f"quantity-{line.id}"))
            if condition not in LINE_CONDITIONS or quantity is None:
                raise workflow.TransitionRefused(
                    _("Give the condition and received quantity of every item.")
                )
            inspections[line.id] = (condition, quantity)
        return inspections

    @staticmethod
    def dispositions_from_form(return_: Return) -> dict[int, tuple[str | None, str | None]]:
        """``disposition-<line id>`` and ``disposition-note-<line id>``; a line left at "as the
        condition suggests" gets the condition's default in the workflow."""
        return {
            line.id: (
                request.form.get(f"disposition-{line.id}") or None,
                request.form.get(f"disposition-note-{line.id}"),
            )
            for line in return_.request.lines
        }

    @staticmethod
    def refund_choices_from_form(return_: Return) -> dict[int, RefundChoice]:
        """``refund-<line id>`` (empty: the default by condition and reason, applied in the
        workflow), ``refund-amount-<line id>`` (a partial refund, typed as "12,50") and
        ``refund-note-<line id>`` (shown to the customer). An amount is only taken with
        "Partial refund" chosen, so a typed amount is never silently ignored."""
        choices = {}
        for line in return_.request.lines:
            choice = request.form.get(f"refund-{line.id}") or None
            typed = request.form.get(f"refund-amount-{line.id}", "").strip()
            cents = parse_cents(typed)
            product = line.order_line.product_name
            if typed and choice != REFUND_PARTIAL:
                raise workflow.TransitionRefused(
                    _(
                        "You typed an amount for %(product)s: choose a partial refund to pay it.",
                        product=product,
                    )
                )
            if typed and cents is None:
                raise workflow.TransitionRefused(
                    _(
                        "Type the partial refund of %(product)s as an amount, such as 12.50.",
                        product=product,
                    )
                )
            note = request.form.get(f"refund-note-{line.id}")
            choices[line.id] = RefundChoice(choice, cents, note)
        return choices

    @expose("/<int:return_id>/label.pdf")
    def label(self, return_id: int):
        """The label PDF, for staff of the return's shop only."""
        return_ = self.load_return(return_id)
        attachment = label_jobs.label_attachment(return_)
        if attachment is None:
            abort(404)
        return storage.send(attachment)


class CarrierAccountView(ShopScopedView):
    """The carriers a shop offers. Secret keys are write-only: typed in, never shown again."""

    read_role = "admin"
    can_view_details = False
    can_export = False
    column_list = ("shop", "carrier", "enabled", "public_key", "has_secret")
    column_labels = {
        "shop": _l("Shop"),
        "carrier": _l("Carrier"),
        "enabled": _l("Enabled"),
        "public_key": _l("Public key"),
        "has_secret": _l("Secret key"),
        "new_secret_key": _l("Secret key"),
        "settings": _l("Settings"),
    }
    column_formatters = {
        "carrier": lambda v, c, m, p: labels.carrier_name(m.carrier),
        "has_secret": lambda v, c, m, p: _("set") if m.secret_key else _("not set"),
    }
    form_columns = ("shop", "carrier", "enabled", "public_key", "new_secret_key", "settings")
    form_extra_fields = {
        "carrier": SelectField(_l("Carrier"), choices=list(labels.ADAPTERS)),
        "new_secret_key": PasswordField(
            _l("Secret key"),
            description=_l("Leave empty to keep the stored key."),
        ),
    }
    form_args = {
        "settings": {
            "description": _l(
                'Sendcloud: {"shipping_option_code": "...", "contract": 123, '
                '"delivery_option": "drop_off_point"}'
            )
        }
    }

    def on_model_change(self, form, model, is_created) -> None:
        super().on_model_change(form, model, is_created)
        if form.new_secret_key.data:
            model.secret_key = form.new_secret_key.data
