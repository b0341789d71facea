"""Email templates and rendering (NL/EN), and writing them to the outbox.

An email is first an ``OutboundEmail`` row in the caller's transaction; services/outbox.py delivers it
after the commit. Each email ``NAME`` has three templates under ``templates/email/``:
``NAME.subject.txt``, ``NAME.txt`` and ``NAME.html``, rendered in the recipient's language.
A shop may override them per language (``EmailTemplate``, edited by support). Default and
override render from the same plain ``EmailContext`` (email_context.py); an override runs in
an immutable Jinja sandbox besides, and one that fails for any reason gives way to the default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext, ngettext
from jinja2 import FunctionLoader, StrictUndefined, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup, escape
from sqlalchemy import JSON, DateTime, false, insert, literal, select
from sqlalchemy.orm import Session, object_session, selectinload

from domain import email_context
from domain.audit import record
from domain.email_context import EmailContext
from domain.formal_address import formal_address
from domain.formatting import moment, moment_date, money
from extensions import db
from models import (
    AuditEvent,
    EmailTemplate,
    OutboundEmail,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    utcnow,
)

log = logging.getLogger(__name__)


# The emails a shop's customer reads: they address the customer as the shop asks ("je" or
# "u", formal_address.py); the others go to staff and stay informal.
CUSTOMER_EMAILS = frozenset(
    {
        "request_confirmation",
        "withdrawal_acknowledgement",
        "request_approved",
        "request_cancelled",
        "ship_by_reminder",
        "request_expired",
        "return_label",
        "label_cancelled",
        "return_received",
        "return_resolved",
        "message_to_customer",
    }
)

# What an override may extend or import: the email layout and the refund breakdown macro.
SHARED_TEMPLATES = ("email/", "refunds/breakdown.html")


def email_template_source(name: str):
    """Lets an override extend the email layout or import the breakdown, read from the app."""
    if not name.startswith(SHARED_TEMPLATES):
        return None
    env = current_app.jinja_env
    return env.loader.get_source(env, name) if env.loader else None


class EmailSandbox(ImmutableSandboxedEnvironment):
    """Where a shop's override runs: it can read its plain context and change nothing.

    Reaching for an unsafe attribute (``__class__``, ``__globals__``…) is an error here, not
    a silent blank, so the editor refuses such a template and delivery falls back at once.
    """

    def unsafe_undefined(self, obj: Any, attribute: str):
        raise SecurityError(f"{attribute!r} of {type(obj).__name__} may not be used in an email")


class UnknownName(UndefinedError):
    """A template uses a name its email does not have; the message is that name as the
    template writes it (``number``, ``request.numbr``)."""


class RefusedUndefined(StrictUndefined):
    """Where the editor tries an override: a name the email does not have is an error that
    names it, not an empty string in every email sent (delivery keeps Jinja's blank)."""

    __slots__ = ()

    def __init__(
        self, hint: str | None = None, obj: Any = missing, name: str | None = None, exc=UnknownName
    ) -> None:
        super().__init__(hint, obj, name, exc)

    @property
    def _undefined_message(self) -> str:
        name = self._undefined_name or self._undefined_hint or "?"
        part = email_context.part_names().get(type(self._undefined_obj))
        return f"{part}.{name}" if part else name


def sandbox(autoescape: bool, undefined: type = Undefined) -> EmailSandbox:
    env = EmailSandbox(
        autoescape=autoescape,
        loader=FunctionLoader(email_template_source),
        cache_size=0,
        undefined=undefined,
    )
    # Jinja's own globals go: ``lipsum`` (a CPU sink), ``cycler``, ``joiner``, ``namespace``
    # and ``dict`` are objects an override does not need and an attacker probes first. The
    # sandbox's own ``range`` stays: it refuses more than MAX_RANGE items.
    env.globals = {
        "range": env.globals["range"],
        "_": gettext,
        "gettext": gettext,
        "ngettext": ngettext,
        "money": money,
    }
    # ``moment`` and ``moment_date`` only read a datetime and a zone name and return text.
    env.filters["moment"] = moment
    env.filters["moment_date"] = moment_date
    return env


# What the outbox can store; a longer subject would fail the transaction that writes the email.
SUBJECT_LENGTH = OutboundEmail.subject.type.length

TEXT_SANDBOX = sandbox(autoescape=False)
HTML_SANDBOX = sandbox(autoescape=True)
# The same, refusing a name the email does not have: the editor tries an override in these.
STRICT_TEXT_SANDBOX = sandbox(autoescape=False, undefined=RefusedUndefined)
STRICT_HTML_SANDBOX = sandbox(autoescape=True, undefined=RefusedUndefined)


def unknown_names(source: str) -> list[str]:
    """The names a template uses that no email has, sorted (the template must parse).

    A name is known if the email context has it (``email_context.template_names``), the
    sandbox gives it (``_``, ``money``…) or the template makes it itself (``set``, ``for``,
    ``macro``, ``import``) anywhere: Jinja's own analysis counts a name set in one branch
    and read in it as perhaps undefined, which the defaults do."""
    tree = TEXT_SANDBOX.parse(source)
    known = set(email_context.template_names()) | set(TEXT_SANDBOX.globals) | made_names(tree)
    return sorted(meta.find_undeclared_variables(tree) - known)


def made_names(tree: nodes.Template) -> set[str]:
    """The names a template assigns itself."""
    names = {name.name for name in tree.find_all(nodes.Name) if name.ctx in ("store", "param")}
    names |= {macro.name for macro in tree.find_all(nodes.Macro)}
    names |= {each.target for each in tree.find_all(nodes.Import)}
    for each in tree.find_all(nodes.FromImport):
        names |= {n[1] if isinstance(n, tuple) else n for n in each.names}
    return names


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
    subject: str,
    body_text: str,
    body_html: str | None,
    context: EmailContext,
    *,
    strict: bool = False,
) -> tuple[str, str, str]:
    """Render an override's three parts in the sandbox (call inside ``force_locale``);
    ``strict`` raises ``UnknownName`` for a name the email does not have."""
    names = context.names()
    text_sandbox = STRICT_TEXT_SANDBOX if strict else TEXT_SANDBOX
    html_sandbox = STRICT_HTML_SANDBOX if strict else HTML_SANDBOX
    rendered_subject = " ".join(text_sandbox.from_string(subject).render(names).split())
    if len(rendered_subject) > SUBJECT_LENGTH:
        raise ValueError(f"the subject is longer than {SUBJECT_LENGTH} characters")
    text = text_sandbox.from_string(body_text).render(names)
    if body_html and body_html.strip():
        html = html_sandbox.from_string(body_html).render(names)
    else:
        html = text_as_html(text)
    return rendered_subject, text, html


def render_default(template: str, context: EmailContext) -> tuple[str, str, str]:
    names = context.names()
    subject = render_template(f"email/{template}.subject.txt", **names)
    text = render_template(f"email/{template}.txt", **names)
    html = render_template(f"email/{template}.html", **names)
    return " ".join(subject.split()), text, html


def render_email(
    template: str, language: str, *, shop: Shop | None = None, **about: Any
) -> tuple[str, str, str]:
    """Render subject, text and HTML of an email in ``language``, as the shop has it."""
    override = shop_override(shop, template, language)
    return render_with(override, template, language, shop=shop, **about)


def render_with(
    override: EmailTemplate | None, template: str, language: str, **about: Any
) -> tuple[str, str, str]:
    """Render an email from the shop's override, or the default when there is none.

    ``about`` is what the email is about (the request, the message…), handed to
    ``email_context.build``: the templates see only the plain context it makes. An override
    that fails for any reason (an error, a forbidden name) must not stop the email: it
    falls back to the default, and the failure is logged.
    """
    addressed = about.get("shop") if template in CUSTOMER_EMAILS else None
    with force_locale(language), formal_address(addressed):
        context = email_context.build(language, **about)
        if override is not None:
            try:
                return render_strings(
                    override.subject, override.body_text, override.body_html, context
                )
            except Exception:
                log.exception("override %s of shop %s failed", template, override.shop_id)
        return render_default(template, context)


# The customer emails a shop may turn off on its settings page, in the order the page lists
# them. Not the withdrawal acknowledgement (``ALWAYS_SENT``: the law asks for it), nor a
# message staff type to the customer: that one they mean to send.
SWITCHABLE_EMAILS = (
    "request_confirmation",
    "request_approved",
    "request_cancelled",
    "ship_by_reminder",
    "request_expired",
    "return_label",
    "label_cancelled",
    "return_received",
    "return_resolved",
)
ALWAYS_SENT = ("withdrawal_acknowledgement",)


def switched_off(shop: Shop | None) -> set[str]:
    """The customer emails ``shop`` turned off."""
    if shop is None:
        return set()
    return {kind for kind in (shop.emails_off or "").split(",") if kind in SWITCHABLE_EMAILS}


def _turned_off(template: str, request: ReturnRequest | None) -> bool:
    """Whether the request's shop turned this customer email off. If so the request's history
    says it was not sent, so staff do not tell the customer to look for it."""
    if request is None or template not in switched_off(request.shop):
        return False
    record(request, None, "email_off", note=template)
    return True


def queue_email(
    template: str,
    to: str,
    language: str,
    *,
    shop: Shop | None = None,
    request: ReturnRequest | None = None,
    attachment_ids: list[int] | None = None,
    asked_by_customer: bool = False,
    **about: Any,
) -> OutboundEmail | None:
    """Write an email to the outbox in the current transaction; it is sent after commit.

    A customer email the shop turned off is not written (None), unless the customer asked
    for it just now (``asked_by_customer``: the link to their request again).
    ``about`` names what else the email is about, as ``email_context.build`` takes it.
    """
    if not asked_by_customer and _turned_off(template, request):
        return None
    subject, text, html = render_email(template, language, shop=shop, request=request, **about)
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
    # The request's own session: a delivery job reports a failed email in a session of its own.
    session = object_session(request) if request is not None else None
    (session or db.session).add(email)
    return email


# Whom an email about a request goes to: its customer, in the request's language. A single
# decision reads these columns from the request, a bulk action selects them in its INSERT …
# SELECT, so both address the same row.
TO_THE_CUSTOMER = {
    "language": ReturnRequest.language,
    "to_address": ReturnRequest.customer_email,
    "shop_id": ReturnRequest.shop_id,
    "request_id": ReturnRequest.id,
}


def render_request_email(
    template: str, request: ReturnRequest, override: EmailTemplate | None
) -> tuple[str, str, str]:
    """The one builder of an email about a decision on a request (approved, cancelled).

    A single decision writes it at once (``queue_request_email``), a bulk action's delivery
    job later (``write_unwritten``): both build it here, from the request alone, so the
    customer reads the same email whichever way the decision was taken.
    """
    return render_with(override, template, request.language, shop=request.shop, request=request)


def queue_request_email(template: str, request: ReturnRequest) -> OutboundEmail | None:
    """Write the email about a decision on ``request`` to its customer, in this transaction;
    none when the shop turned it off."""
    if _turned_off(template, request):
        return None
    override = shop_override(request.shop, template, request.language)
    subject, text, html = render_request_email(template, request, override)
    email = OutboundEmail(
        template=template,
        **{name: getattr(request, column.key) for name, column in TO_THE_CUSTOMER.items()},
        subject=subject,
        body_text=text,
        body_html=html,
        attachment_ids=[],
    )
    db.session.add(email)
    return email


def queue_request_emails(template: str, request_ids: list[int]) -> list[int]:
    """Write one unwritten outbox email per request in one INSERT … SELECT; returns their ids.

    For bulk actions: rendering three templates takes milliseconds per email, which over
    thousands of requests would hold the bulk action's transaction for a minute. The
    delivery job writes each email from its request (``write_unwritten``) right after the
    commit, before sending, with the builder a single decision uses; the Outbox shows an
    unwritten email as it would be written.
    """
    request_ids = _switched_on_for(template, request_ids)
    if not request_ids:
        return []
    unwritten = {
        "template": literal(template),
        **TO_THE_CUSTOMER,
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


def _switched_on_for(template: str, request_ids: list[int]) -> list[int]:
    """The requests whose shop sends this email; the others' histories say it was not sent
    (one INSERT), as ``_turned_off`` says it of one request."""
    shops = db.session.scalars(
        select(Shop).where(
            Shop.id.in_(select(ReturnRequest.shop_id).where(ReturnRequest.id.in_(request_ids)))
        )
    )
    off = [shop.id for shop in shops if template in switched_off(shop)]
    if not off:
        return request_ids
    skipped = select(
        ReturnRequest.shop_id,
        ReturnRequest.id,
        literal("email_off"),
        literal(template),
        literal(utcnow(), DateTime(timezone=True)),
    ).where(ReturnRequest.id.in_(request_ids), ReturnRequest.shop_id.in_(off))
    db.session.execute(
        insert(AuditEvent).from_select(
            ["shop_id", "request_id", "action", "note", "created_at"], skipped
        )
    )
    return list(
        db.session.scalars(
            select(ReturnRequest.id).where(
                ReturnRequest.id.in_(request_ids), ReturnRequest.shop_id.not_in(off)
            )
        )
    )


def render_unwritten(email: OutboundEmail) -> tuple[str, str, str]:
    """Subject, text and HTML of an email a bulk action left unwritten, from its request now."""
    request = email.request
    if request is None:  # the bulk path always names the request; a deleted one says nothing
        return email.subject, email.body_text, email.body_html or ""
    override = shop_override(request.shop, email.template, email.language)
    return render_request_email(email.template, request, override)


def _overrides_for(session: Session, emails: Sequence[OutboundEmail]) -> dict[tuple, EmailTemplate]:
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
            selectinload(OutboundEmail.request).selectinload(ReturnRequest.order),
            selectinload(OutboundEmail.request)
            .selectinload(ReturnRequest.lines)
            .selectinload(ReturnRequestLine.order_line),
            selectinload(OutboundEmail.request)
            .selectinload(ReturnRequest.lines)
            .selectinload(ReturnRequestLine.reason),
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
        email.subject, email.body_text, email.body_html = render_request_email(
            email.template, email.request, override
        )
        email.written = True
    session.commit()
