"""The Outbox: every email ReturnDesk wrote, its state, and "Retry now" (shop admins, support)."""

from __future__ import annotations

import logging

from flask import flash
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from domain import emails
from domain.formatting import shop_time
from domain.statuses import EMAIL_STATUS_BADGES, EMAIL_STATUS_LABELS
from models import (
    OutboundEmail,
)
from services import dashboard, outbox
from web.admin.base import ShopScopedView, row_ids

log = logging.getLogger(__name__)


def unwritten_subject(view, context, model, name) -> str | Markup:
    """A bulk action's email before its delivery job wrote it: its template, in italics."""
    if model.written:
        return Markup('<span lang="{}">{}</span>').format(model.language or "en", model.subject)
    return Markup("<em>{}</em>").format(
        _("%(template)s (written when sent)", template=model.template)
    )


LINK_HIDDEN = _l("Link hidden: this email opens an account, so only its recipient reads it.")


def email_parts(model: OutboundEmail) -> tuple[str, str, str | None]:
    """What the Outbox shows an email says, or for an unwritten one what it would say if
    written now. Of an email that carries a credential it shows the subject only."""
    if model.carries_credential:
        return model.subject, str(LINK_HIDDEN), None
    if model.written or model.request is None:
        return model.subject, model.body_text, model.body_html
    return emails.render_unwritten(model)


def email_preview(view, context, model, name) -> Markup:
    _subject, text, html = email_parts(model)
    if html is None:
        return Markup('<p class="text-muted">{}</p>').format(text)
    return Markup(
        '<iframe sandbox="" title="{}" style="width:100%;height:480px;border:1px solid #ddd"'
        ' srcdoc="{}"></iframe>'
    ).format(_("Email preview"), html)


def email_status(view, context, model, name) -> Markup:
    """The email's status; one that is failing says when it is tried next."""
    if model.failing:
        when = shop_time(model.next_attempt_at, model.shop) or _("as soon as possible")
        return Markup('<span class="badge badge-warning">{}</span>').format(
            _("Failing, next attempt %(when)s", when=when)
        )
    return Markup('<span class="badge badge-{}">{}</span>').format(
        EMAIL_STATUS_BADGES.get(model.status, "light"),
        EMAIL_STATUS_LABELS.get(model.status, model.status),
    )


class OutboxView(ShopScopedView):
    """Every email, sent or not: without MAIL_SERVER they wait here, readable.

    A shop's emails are for its admins (agents have no access), platform emails for support;
    an email that carries a credential (invite, password reset) shows no body to anyone.
    Emails that could not be sent are flagged; the readers can send a failed or failing email
    again at once ("Retry now").
    """

    read_role = "admin"
    list_template = "admin/outbox/list.html"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = (
        "created_at",
        "to_address",
        "subject",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    )
    column_details_list = (
        "created_at",
        "to_address",
        "subject",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "body_html",
    )
    column_filters = ("status", "template")
    column_searchable_list = ("to_address", "subject")
    column_default_sort = ("id", True)
    column_formatters = {"subject": unwritten_subject, "status": email_status}
    column_formatters_detail = {
        "subject": lambda view, context, model, name: email_parts(model)[0],
        "status": email_status,
        "body_html": email_preview,
    }
    column_labels = {
        "created_at": _l("Created"),
        "to_address": _l("To"),
        "subject": _l("Subject"),
        "status": _l("Status"),
        "attempts": _l("Attempts"),
        "last_error": _l("Last error"),
        "sent_at": _l("Sent"),
        "body_html": _l("Preview"),
    }

    @expose("/")
    def index_view(self):
        """The list, under a banner counting the emails that could not be sent."""
        self._template_args["email_trouble"] = dashboard.email_trouble(self.readable_shop_ids())
        return super().index_view()

    def may_retry(self, email: OutboundEmail) -> bool:
        """Whether "Retry now" is offered for this email to this user."""
        if email.status != "failed" and not email.failing:
            return False
        return self.may_change(email.shop_id)

    def is_action_allowed(self, name: str) -> bool:
        if name == "retry":
            return self.may_edit()
        return super().is_action_allowed(name)

    @action("retry", _l("Retry now"))
    def action_retry(self, ids: list[str]) -> None:
        """Send the chosen failed or failing emails again now, with a fresh schedule (the ids
        are those of shops the user administers: ``init_actions`` narrowed them)."""
        retried = outbox.retry_emails_now(row_ids(ids))
        log.info("%s chose Retry now for emails %s", current_user.email, retried)
        flash(_("%(count)s emails handed to the job runner.", count=len(retried)), "success")
