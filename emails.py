"""Email templates and rendering (NL/EN), and writing them to the outbox.

An email is first an ``OutboundEmail`` row in the caller's transaction; tasks.py delivers it
after the commit. Each email ``NAME`` has three templates under ``templates/email/``:
``NAME.subject.txt``, ``NAME.txt`` and ``NAME.html``, rendered in the recipient's language.
A shop may override them per language (``EmailTemplate``, edited by support); an override
is rendered with the same context in a Jinja sandbox, so its author cannot reach the server.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext, ngettext
from jinja2 import FunctionLoader, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import JSON, DateTime, false, insert, literal, select
from sqlalchemy.orm import Session, object_session, selectinload

from extensions import db
from models import EmailTemplate, OutboundEmail, ReturnRequest, ReturnRequestLine, Shop, utcnow

log = logging.getLogger(__name__)


# What an override may call besides the context: translation and the app's own helpers.
# Never the whole Flask globals (``config`` holds the secret key).
SHARED_GLOBALS = ("money", "get_locale")
SHARED_FILTERS = ("moment",)


# What an override may extend or import: the email layout and the refund breakdown macro.
SHARED_TEMPLATES = ("email/", "refunds/breakdown.html")


def email_template_source(name: str):
    """Lets an override extend the email layout or import the breakdown, read from the app."""
    if not name.startswith(SHARED_TEMPLATES):
        return None
    env = current_app.jinja_env
    return env.loader.get_source(env, name)


def sandbox(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=autoescape, loader=FunctionLoader(email_template_source), cache_size=0
    )
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)
    return env


TEXT_SANDBOX = sandbox(autoescape=False)
HTML_SANDBOX = sandbox(autoescape=True)


def shop_override(shop: Shop | None, template: str, language: str) -> EmailTemplate | None:
    """The shop's own version of an email in a language, if it has one.

    Asked in the shop's own session: a delivery job renders in a session of its own.
    """
    if shop is None or shop.id is None:
        return None
    session = object_session(shop) or db.session
    return session.scalar(
        select(EmailTemplate).where(
            EmailTemplate.shop_id == shop.id,
            EmailTemplate.name == template,
            EmailTemplate.language == language,
        )
    )


def text_as_html(text: str) -> str:
    """An HTML body for an override written as plain text only."""
    paragraphs = [escape(part).replace("\n", Markup("<br>")) for part in text.split("\n\n")]
    return str(Markup("").join(Markup("<p>{}</p>\n").format(p) for p in paragraphs))


def render_strings(
    subject: str, body_text: str, body_html: str | None, context: dict[str, Any]
) -> tuple[str, str, str]:
    """Render an override's three parts in the sandbox (call inside ``force_locale``)."""
    app_globals = current_app.jinja_env.globals
    context = {name: app_globals[name] for name in SHARED_GLOBALS if name in app_globals} | context
    for name in SHARED_FILTERS:
        for env in (TEXT_SANDBOX, HTML_SANDBOX):
            env.filters.setdefault(name, current_app.jinja_env.filters[name])
    rendered_subject = TEXT_SANDBOX.from_string(subject).render(context)
    text = TEXT_SANDBOX.from_string(body_text).render(context)
    if body_html and body_html.strip():
        html = HTML_SANDBOX.from_string(body_html).render(context)
    else:
        html = text_as_html(text)
    return " ".join(rendered_subject.split()), text, html


def render_default(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    subject = render_template(f"email/{template}.subject.txt", **context)
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    return " ".join(subject.split()), text, html


def status_url(request: ReturnRequest) -> str:
    """The customer's status page of a request: the unguessable link in every email."""
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{public_url}/returns/{request.shop.slug}/status/{request.public_token}"


def render_email(template: str, language: str, **context: Any) -> tuple[str, str, str]:
    """Render subject, text and HTML of an email in ``language``, as the shop has it."""
    override = shop_override(context.get("shop"), template, language)
    return render_with(override, template, language, context)


def render_with(
    override: EmailTemplate | None, template: str, language: str, context: dict[str, Any]
) -> tuple[str, str, str]:
    """Render an email from the shop's override, or the default when there is none.

    A broken shop override must not stop the email: it falls back to the default.
    """
    context.setdefault("public_url", current_app.config["PUBLIC_URL"].rstrip("/"))
    if context.get("request") is not None:
        context.setdefault("status_url", status_url(context["request"]))
    with force_locale(language):
        if override is not None:
            try:
                return render_strings(
                    override.subject, override.body_text, override.body_html, context
                )
            except TemplateError:
                log.exception("override %s of shop %s failed", template, override.shop_id)
        return render_default(template, context)


def queue_email(
    template: str,
    to: str,
    language: str,
    *,
    shop: Shop | None = None,
    request: ReturnRequest | None = None,
    attachment_ids: list[int] | None = None,
    **context: Any,
) -> OutboundEmail:
    """Write an email to the outbox in the current transaction; it is sent after commit."""
    subject, text, html = render_email(template, language, shop=shop, request=request, **context)
    email = OutboundEmail(
        template=template,
        language=language,
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        shop_id=shop.id if shop else None,
        request_id=request.id if request else None,
        attachment_ids=list(attachment_ids or []),
    )
    db.session.add(email)
    return email


def queue_request_emails(template: str, request_ids: list[int]) -> list[int]:
    """Write one unwritten outbox email per request in one INSERT … SELECT; returns their ids.

    For bulk actions: rendering three templates takes milliseconds per email, which over
    thousands of requests would hold the bulk action's transaction for a minute. The
    delivery job writes each email from its request (``write_unwritten``) right after the
    commit, before sending; the Outbox shows an unwritten email as it would be written.
    """
    if not request_ids:
        return []
    unwritten = {
        "template": literal(template),
        "language": ReturnRequest.language,
        "to_address": ReturnRequest.customer_email,
        "shop_id": ReturnRequest.shop_id,
        "request_id": ReturnRequest.id,
        "subject": literal(""),
        "body_text": literal(""),
        "attachment_ids": literal([], JSON),
        "written": false(),
        "status": literal("pending"),
        "attempts": literal(0),
        "created_at": literal(utcnow(), DateTime(timezone=True)),
    }
    rows = select(*unwritten.values()).where(ReturnRequest.id.in_(request_ids))
    inserted = insert(OutboundEmail).from_select(list(unwritten), rows)
    return list(db.session.scalars(inserted.returning(OutboundEmail.id)))


def render_unwritten(email: OutboundEmail) -> tuple[str, str, str]:
    """Subject, text and HTML of an email a bulk action left unwritten, from its request now."""
    override = shop_override(email.request.shop, email.template, email.language)
    return _render_from_request(email, override)


def _render_from_request(email: OutboundEmail, override: EmailTemplate | None):
    request = email.request
    context = {"shop": request.shop, "request": request, "lines": request.lines}
    return render_with(override, email.template, email.language, context)


def _overrides_for(session: Session, emails: list[OutboundEmail]) -> dict[tuple, EmailTemplate]:
    """The shop overrides these emails use, by (shop id, template, language): one query."""
    found = session.scalars(
        select(EmailTemplate).where(
            EmailTemplate.shop_id.in_({email.shop_id for email in emails}),
            EmailTemplate.name.in_({email.template for email in emails}),
        )
    )
    return {(o.shop_id, o.name, o.language): o for o in found}


def write_unwritten(session: Session, email_ids: list[int]) -> None:
    """Render and store the unwritten emails among ``email_ids``, then commit.

    An email whose request has been deleted meanwhile cannot be written: it fails.
    """
    unwritten = session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.id.in_(email_ids), OutboundEmail.written.is_(False))
        .options(
            selectinload(OutboundEmail.request).selectinload(ReturnRequest.shop),
            selectinload(OutboundEmail.request)
            .selectinload(ReturnRequest.lines)
            .selectinload(ReturnRequestLine.order_line),
        )
    ).all()
    if not unwritten:
        return
    overrides = _overrides_for(session, unwritten)
    for email in unwritten:
        if email.request is None:
            email.status, email.last_error = "failed", "the request no longer exists"
            continue
        override = overrides.get((email.shop_id, email.template, email.language))
        email.subject, email.body_text, email.body_html = _render_from_request(email, override)
        email.written = True
    session.commit()
