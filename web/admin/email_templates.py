"""The email templates editor: a shop's own wording of each email, checked in the sandbox and
previewed with the shop's latest request."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.form import FormOpts
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError, TemplateSyntaxError
from sqlalchemy import select
from wtforms import (
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.validators import ValidationError as FieldError

from domain import email_context, emails, refunds
from domain.email_context import EmailContext
from domain.statuses import EMAIL_LABELS
from extensions import db
from models import (
    EmailTemplate,
    Message,
    ReturnRequest,
    Shop,
)
from web.admin.editor_base import (
    LANGUAGE_CHOICES,
    EditorView,
    may_edit_shop,
    record_change,
)

# Emails to a staff member (their account, their notifications): the platform's wording, not a
# shop's.
PLATFORM_EMAILS = ("invite", "password_reset", "staff_notification")


def email_choices() -> list[tuple[str, str]]:
    """Each email a shop words itself, named in words ("Request approved (to the customer)")."""
    return [(name, str(EMAIL_LABELS.get(name, name))) for name in email_names()]


def email_names() -> list[str]:
    """Every email a shop sends in its own words (each has ``email/NAME.subject.txt``)."""
    suffix = ".subject.txt"
    return sorted(
        name[len("email/") : -len(suffix)]
        for name in current_app.jinja_env.list_templates()
        if name.startswith("email/")
        and name.endswith(suffix)
        and name[len("email/") : -len(suffix)] not in PLATFORM_EMAILS
    )


def default_source(name: str, part: str) -> str:
    """The default template's source (``part``: ``subject.txt``, ``txt`` or ``html``)."""
    env = current_app.jinja_env
    source, _filename, _uptodate = env.loader.get_source(env, f"email/{name}.{part}")
    return source


def check_template(source: str | None) -> None:
    """Refuse to save a template that does not compile in the sandbox, or that uses a name
    no email has (``{{ number }}`` would go out empty in every email)."""
    try:
        unknown = emails.unknown_names(source or "")
    except TemplateSyntaxError as error:
        raise FieldError(
            gettext(
                "Line %(line)s of the template has an error: %(error)s",
                line=error.lineno,
                error=error.message or str(error),
            )
        ) from error
    except TemplateError as error:
        raise FieldError(
            gettext("The template has an error: %(error)s", error=str(error))
        ) from error
    if unknown:
        raise FieldError(unknown_name_message(", ".join(unknown)))


def unknown_name_message(names: str) -> str:
    return gettext(
        "The template uses %(names)s, which this email does not have. "
        "The names a template may use are listed beside the editor.",
        names=names,
    )


def check_renders(template: EmailTemplate) -> None:
    """Refuse to save a template that fails on an example request: one that uses a name the
    email does not have (``request.numbr``), reaches for what emails may not use, or calls
    what does not exist. (Delivery falls back to the default anyway; this tells the author
    now.)"""
    shop = template.shop or db.session.get(Shop, template.shop_id)
    try:
        with force_locale(template.language):
            example = email_context.example(shop, template.language)
            emails.render_strings(
                template.subject, template.body_text, template.body_html, example, strict=True
            )
    except emails.UnknownName as error:
        raise FieldError(unknown_name_message(str(error))) from error
    except Exception as error:
        # Said in the editor's language, not the template's.
        raise FieldError(
            gettext("The template cannot be used: %(error)s", error=str(error))
        ) from error


def latest_request(shop_id: int) -> ReturnRequest | None:
    return db.session.scalar(
        select(ReturnRequest)
        .where(ReturnRequest.shop_id == shop_id)
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
        .limit(1)
    )


def sample_context(shop: Shop, sample: ReturnRequest, language: str) -> EmailContext:
    """Every name an email may use, filled from a real request (call inside force_locale)."""
    return email_context.build(
        language,
        shop=shop,
        request=sample,
        message=sample.messages[-1] if sample.messages else Message(body="…"),
        refund_deadline=sample.created_at + timedelta(days=shop.withdrawal_window_days),
        ship_by=sample.ship_by_at or sample.created_at + timedelta(days=shop.ship_by_days or 14),
        refund=refunds.refund_breakdown(sample),
        return_=sample.returns[-1] if sample.returns else None,
    )


def preview(shop: Shop, language: str, subject: str, text: str, html: str | None) -> dict | None:
    """Render a template as typed with the shop's latest request; ``None`` without one.

    The result holds the sample request's ``number`` and either ``subject``/``text``/``html``
    or ``error``: a template that fails, for whatever reason, shows why.
    """
    sample = latest_request(shop.id)
    if sample is None:
        return None
    with force_locale(language):
        context = sample_context(shop, sample, language)
        try:
            rendered = emails.render_strings(subject, text, html, context)
        except Exception as error:
            return {"number": sample.number, "error": str(error)}
    return {
        "number": sample.number,
        "subject": rendered[0],
        "text": rendered[1],
        "html": rendered[2],
    }


class EmailTemplateView(EditorView):
    """A shop's own wording of an email per language, with a live preview and a reset."""

    audit_noun = "email_template"
    create_template = "support/email_template_form.html"
    edit_template = "support/email_template_form.html"
    column_list = ("shop", "name", "language", "subject", "updated_at")
    column_filters = ("name", "language")
    column_choices = {"name": list(EMAIL_LABELS.items())}
    form_columns = ("shop", "name", "language", "subject", "body_text", "body_html")
    form_overrides = {"name": SelectField, "language": SelectField, "body_html": TextAreaField}
    form_args = {
        "name": {"choices": []},
        "language": {"choices": LANGUAGE_CHOICES},
        "body_html": {
            "description": _l("Leave empty to send the text version as simple HTML."),
            "validators": [Optional()],
        },
    }
    form_widget_args = {"body_text": {"rows": 14}, "body_html": {"rows": 14}}
    column_labels = {
        "shop": _l("Shop"),
        "name": _l("Email"),
        "language": _l("Language"),
        "subject": _l("Subject"),
        "body_text": _l("Text"),
        "body_html": _l("HTML"),
        "updated_at": _l("Changed"),
    }

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.name.choices = [SelectChoice(name, label) for name, label in email_choices()]
        if request.method == "GET" and request.args.get("name") in email_names():
            self.fill_defaults(form, request.args["name"], request.args.get("language", "nl"))
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.name.choices = [SelectChoice(name, label) for name, label in email_choices()]
        return form

    @staticmethod
    def fill_defaults(form, name: str, language: str) -> None:
        form.name.data = name
        form.language.data = language
        form.subject.data = default_source(name, "subject.txt")
        form.body_text.data = default_source(name, "txt")
        form.body_html.data = default_source(name, "html")

    def on_model_change(self, form, model, is_created) -> None:
        for source in (model.subject, model.body_text, model.body_html):
            check_template(source)
        super().on_model_change(form, model, is_created)
        check_renders(model)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if request.method == "POST" and "preview" in request.form and self.can_create:
            return self.preview_page(self.create_form(), self.create_template)
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if request.method == "POST" and "preview" in request.form and self.can_edit:
            model = self.get_one(request.args.get("id"))
            return self.preview_page(self.edit_form(obj=model), self.edit_template, model=model)
        return super().edit_view()

    def preview_page(self, form, template, **context):
        shop = form.shop.data
        if shop is None or not may_edit_shop(shop.id):
            abort(403)
        result = preview(
            shop,
            form.language.data,
            form.subject.data or "",
            form.body_text.data or "",
            form.body_html.data,
        )
        return self.render(
            template,
            form=form,
            form_opts=FormOpts(widget_args=self.form_widget_args),
            return_url=self.get_url(".index_view"),
            preview=result,
            **context,
        )

    @expose("/reset/", methods=("POST",))
    def reset_view(self):
        """Back to the default wording: the override is removed, and the reset audited."""
        override = self.get_one(request.args.get("id"))
        record_change("email_template_reset", override.shop_id, str(override))
        db.session.delete(override)
        db.session.commit()
        flash(gettext("The default email is used again."), "success")
        return redirect(self.get_url(".index_view"))

    def render(self, template, **kwargs):
        kwargs.setdefault(
            "form_page", "admin/model/edit.html" if "model" in kwargs else "admin/model/create.html"
        )
        kwargs.setdefault("email_names", email_choices())
        kwargs.setdefault("template_names", email_context.documented_names())
        return super().render(template, **kwargs)
