"""Email templates and rendering (NL/EN), and writing them to the outbox.

An email is first an ``OutboundEmail`` row in the caller's transaction; tasks.py delivers it
after the commit. Each email ``NAME`` has three templates under ``templates/email/``:
``NAME.subject.txt``, ``NAME.txt`` and ``NAME.html``, rendered in the recipient's language.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from extensions import db
from models import OutboundEmail, ReturnRequest, Shop


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
