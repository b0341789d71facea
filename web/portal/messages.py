"""The customer's side of "Communication with customer": replying on the status page and
downloading the files of the thread, both only with the request's unguessable token."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from domain import formal_address
from extensions import db, limiter
from models import ReturnRequest, Shop
from services import conversation, storage
from web import throttling
from web.portal import request_form

bp = Blueprint("conversation_portal", __name__, url_prefix="/returns/<slug>/status/<token>")
bp.errorhandler(RequestEntityTooLarge)(request_form.upload_too_large)


@bp.context_processor
def status_page_context() -> dict:
    """The portal's page context; its language links lead back to the status page."""
    return request_form.portal_context() | {
        "lang_url": lambda code: url_for(
            "portal.status", token=g.conversation_request.public_token, lang=code
        )
    }


@bp.url_value_preprocessor
def load_request(endpoint, values) -> None:
    """The shop of the URL and its request with this token, or 404 for anything else."""
    slug, token = values.pop("slug", None), values.get("token")
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    found = None
    if shop is not None:
        found = db.session.scalar(
            select(ReturnRequest).where(
                ReturnRequest.public_token == token, ReturnRequest.shop_id == shop.id
            )
        )
    if found is None:
        abort(404)
    g.shop, g.shop_slug, g.conversation_request = shop, slug, found
    g.locale = request_form.portal_language(shop)
    formal_address.address_customers_of(shop)


@bp.url_defaults
def add_slug(endpoint, values) -> None:
    if "slug" not in values and getattr(g, "shop", None) is not None:
        values["slug"] = g.shop.slug


def reply_limit() -> str:
    return current_app.config.get("PORTAL_REPLY_LIMIT", "10 per hour")


def token_key() -> str:
    return f"portal-reply:{(request.view_args or {}).get('token', '')}"


def status_page() -> str:
    return url_for("portal.status", slug=g.shop.slug, token=g.conversation_request.public_token)


@bp.route("/reply", methods=["POST"])
@limiter.limit(reply_limit, key_func=token_key)
def reply(token: str):
    """The customer's answer, with files; problems are shown next to the form."""
    req = g.conversation_request
    files = conversation.uploads_from(request.files.getlist("files"))
    try:
        conversation.receive_reply(req, request.form.get("body", ""), files)
        db.session.commit()
    except conversation.MessageRefused as refused:
        db.session.rollback()
        g.reply_errors, g.reply_form = refused.errors, request.form
        return request_form.status(token), 400
    flash(_("Thank you, your message has been sent to the shop."), "success")
    return redirect(status_page() + "#conversation")


@bp.route("/attachment/<int:attachment_id>")
def attachment(token: str, attachment_id: int):
    """A file of a message the customer can see, always as a download."""
    found = conversation.customer_attachment(g.conversation_request, attachment_id)
    if found is None:
        abort(404)
    return storage.send(found, always_download=True)


@bp.errorhandler(CSRFError)
def form_expired(error):
    flash(_("This page was open for too long. Please write your message again."), "warning")
    return redirect(status_page() + "#conversation")


@bp.errorhandler(429)
def too_many_replies(error):
    page = request_form.render_page("portal/limited.html", message=throttling.try_again_message())
    return throttling.refusal(page)
