"""Email templates and rendering (NL/EN), and writing them to the outbox.

An email is first an ``OutboundEmail`` row in the caller's transaction; tasks.py delivers it
after the commit. Each email ``NAME`` has three templates under ``templates/email/``:
``NAME.subject.txt``, ``NAME.txt`` and ``NAME.html``, rendered in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from extensions import db
from models import OutboundEmail, ReturnRequest, ReturnRequestLine, Shop, utcnow


def status_url(request: ReturnRequest) -> str:
    """The customer's status page of a request: the unguessable link in every email."""
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{public_url}/returns/{request.shop.slug}/status/{request.public_token}"


def render_email(template: str, language: str, **context: Any) -> tuple[str, str, str]:
    """Render subject, text and HTML of an email in ``language``."""
    context.setdefault("public_url", current_app.config["PUBLIC_URL"].rstrip("/"))
    if context.get("request") is not None:
        context.setdefault("status_url", status_url(context["request"]))
    with force_locale(language):
        subject = render_template(f"email/{template}.subject.txt", **context)
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return " ".join(subject.split()), text, html


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


def queue_request_emails(template: str, requests: Iterable[ReturnRequest]) -> list[int]:
    """Write one outbox row per request to its customer, rendered when it is delivered.

    The fast path of bulk actions: the rows are written in the caller's transaction, like
    ``queue_email``'s, in one INSERT; rendering (the costly part) happens in the worker
    that sends the email, from the request as committed (``render_stored``).
    """
    now = utcnow()
    rows = [
        {
            "template": template,
            "language": request.language,
            "to_address": request.customer_email,
            "subject": "",
            "body_text": "",
            "shop_id": request.shop_id,
            "request_id": request.id,
            "attachment_ids": [],
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for request in requests
    ]
    if not rows:
        return []
    return list(db.session.scalars(insert(OutboundEmail).returning(OutboundEmail.id), rows))


def load_for_rendering(emails: list[OutboundEmail], session: Session) -> dict[int, ReturnRequest]:
    """The requests ``render_stored`` needs for these rows, with shop and lines, by id."""
    request_ids = {e.request_id for e in emails if not e.subject and e.request_id}
    if not request_ids:
        return {}
    requests = session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.id.in_(request_ids))
        .options(
            selectinload(ReturnRequest.shop),
            selectinload(ReturnRequest.lines).selectinload(ReturnRequestLine.order_line),
        )
    )
    return {request.id: request for request in requests}


def render_stored(email: OutboundEmail, requests: dict[int, ReturnRequest]) -> None:
    """Render a row written by ``queue_request_emails`` (once; a rendered row is kept)."""
    if email.subject:
        return
    request = requests.get(email.request_id)
    if request is None:
        raise LookupError(f"the request of outbox email {email.id} is gone")
    email.subject, email.body_text, email.body_html = render_email(
        email.template, email.language, shop=request.shop, request=request, lines=request.lines
    )
