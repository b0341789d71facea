"""The "Customer data" admin page: find a customer's data, export it, erase it (GDPR).

Shop admins (their shops) and support (every shop) search by email address or order number;
``services.customer_data`` finds the rows within the shops the user may see as an admin (the
one tenancy rule) and ``services.customer_erasure`` erases them. Every form is a POST with a
CSRF token, so the address never lands in a URL or an access log.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, stream_with_context, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from domain.statuses import (
    EMAIL_STATUS_LABELS,
    audit_label,
    history_sentence,
    return_status_label,
    status_label,
)
from extensions import db
from services import customer_data, customer_erasure
from services.customer_data import CustomerData
from web.admin.base import StaffOnly, visible_shops
from web.staff_forms import CustomerForm, CustomerSearchForm

KIND_LABELS = {
    "orders": _l("Orders"),
    "requests": _l("Requests"),
    "request_lines": _l("Request lines"),
    "returns": _l("Returns"),
    "messages": _l("Messages"),
    "files": _l("Files"),
    "notices": _l("Notices"),
    "audit_events": _l("History entries"),
    "emails": _l("Outbox emails"),
    "webhook_deliveries": _l("Webhook deliveries"),
}
FILE_KIND_LABELS = {
    "photo": _l("Photo"),
    "message": _l("File on a message"),
    "label": _l("Return label"),
    "answer": _l("File answering a question"),
}

DIRECTION_LABELS = {
    "outbound": _l("To the customer"),
    "inbound": _l("From the customer"),
    "internal": _l("Internal note"),
}


class CustomerDataView(StaffOnly, BaseView):
    """Search, results grouped by kind, export (a ZIP download) and erasure (confirmed)."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and bool(visible_shops(customer_data.MIN_ROLE))

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = CustomerSearchForm()
        if not form.validate_on_submit():
            return self.render(
                "admin/customer_data.html", form=form, result=None, choices=[], log=request_log()
            )
        query = form.query.data.strip()
        if "@" in query:
            return self.results(form, query)
        emails = customer_data.order_emails(current_user, query)
        if len(emails) == 1:
            return self.results(form, emails[0])
        return self.render(
            "admin/customer_data.html",
            form=form,
            result=None,
            choices=emails,
            nothing=not emails,
            action_form=CustomerForm,
        )

    def results(self, form: CustomerSearchForm, email: str):
        data = customer_data.find(current_user, email)
        return self.render(
            "admin/customer_data.html",
            form=form,
            result=result_page(data),
            choices=[],
            action_form=CustomerForm,
        )

    @expose("/export", methods=["POST"])
    def export(self):
        """The ZIP, streamed; the export is audited before the first byte goes."""
        data = customer_data.find(current_user, self.posted_email())
        customer_json = customer_data.document(data)
        files = customer_data.export_files(data)
        customer_data.record_export(data, current_user)
        db.session.commit()
        response = Response(
            stream_with_context(customer_data.zip_chunks(customer_json, files)),
            mimetype="application/zip",
        )
        disposition = f'attachment; filename="{customer_data.zip_name()}"'
        response.headers["Content-Disposition"] = disposition
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/erase/confirm", methods=["POST"])
    def confirm_erase(self):
        """What will go, counted per kind, and the button that erases it (or why not)."""
        email = self.posted_email()
        data = customer_data.find(current_user, email)
        return self.render(
            "admin/customer_data_erase.html",
            email=data.email,
            counts=labelled_counts(data),
            refusal=customer_erasure.refusal(data),
            found=data.found,
            action_form=CustomerForm,
        )

    @expose("/erase", methods=["POST"])
    def erase(self):
        data = customer_data.find(current_user, self.posted_email())
        try:
            erasure = customer_erasure.erase(data, current_user)
        except customer_erasure.ErasureRefused as refused:
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        if erasure.erased:
            flash(_("The customer's personal data was erased."), "success")
        else:
            flash(_("Nothing was left to erase for this address."), "info")
        return redirect(url_for(".index"))

    @expose("/erase/schedule", methods=["POST"])
    def schedule_erase(self):
        """Erase once the customer's returns have settled (the sweeper does it)."""
        data = customer_data.find(current_user, self.posted_email())
        customer_erasure.schedule(data, current_user)
        db.session.commit()
        flash(_("The customer's data will be erased as soon as their returns have settled."))
        return redirect(url_for(".index"))

    def posted_email(self) -> str:
        """The address an export or erasure form names; a post without one (not from these
        pages: CSRF failures are refused before) goes back to the search."""
        form = CustomerForm()
        if not form.validate_on_submit():
            abort(redirect(url_for(".index")))
        return form.email.data


def request_log() -> list[dict]:
    """The latest exports and erasures in the user's shops, as plain data."""
    return [
        {"at": event.created_at, "sentence": history_sentence(event)}
        for event in customer_data.recent_requests_log(current_user)
    ]


def labelled_counts(data: CustomerData) -> list[dict]:
    return [
        {"kind": kind, "label": str(KIND_LABELS[kind]), "count": count}
        for kind, count in data.counts().items()
    ]


def result_page(data: CustomerData) -> dict:
    """What the results show, as plain data: counts and the rows of each kind."""
    request_numbers = {request.id: request.number for request in data.requests}
    return {
        "email": data.email,
        "found": data.found,
        "counts": labelled_counts(data),
        "refusal": customer_erasure.refusal(data) if data.found else None,
        "orders": [
            {"shop": o.shop.name, "number": o.number, "name": o.customer_name, "at": o.ordered_at}
            for o in data.orders
        ],
        "requests": [
            {
                "shop": r.shop.name,
                "number": r.number,
                "status": status_label(r.status),
                "lines": len(r.lines),
                "at": r.created_at,
            }
            for r in data.requests
        ],
        "returns": [
            {"number": r.number, "status": return_status_label(r.status), "at": r.created_at}
            for r in data.returns
        ],
        "messages": [
            {
                "request": request_numbers.get(m.request_id, ""),
                "direction": str(DIRECTION_LABELS.get(m.direction, m.direction)),
                "body": m.body[:120],
                "at": m.created_at,
            }
            for m in data.messages
        ],
        "files": [
            {
                "name": f.original_name,
                "kind": FILE_KIND_LABELS[customer_data.file_kind(data, f)],
                "size": f.size,
                "request": request_numbers.get(f.request_id or 0, ""),
            }
            for f in data.files
        ],
        "emails": [
            {
                "subject": e.subject,
                "to": e.to_address,
                "status": str(EMAIL_STATUS_LABELS.get(e.status, e.status)),
                "at": e.created_at,
            }
            for e in data.emails
        ],
        "history": [
            {"action": audit_label(e.action), "at": e.created_at} for e in data.audit_events
        ],
    }
