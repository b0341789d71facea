"""The customer's return label: choose a carrier, see the fee, create the label, download it.

Reached only through the request's unguessable status link (``/returns/<shop>/status/<token>``)
under ``/label``; anything else is a 404. Pages speak the request's language. Creating the label
asks workflow.py (which gives one return however often it is asked) and hands the return to the
label job after the commit; the progress page refreshes itself until the label is ready.
"""

from __future__ import annotations

import io

import qrcode
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from domain import audit, formal_address, links, portal_page, workflow
from domain.settlement import settlement_summary
from extensions import db
from models import Return, ReturnRequest, Shop
from services import label_jobs, labels, storage
from web.portal.request_form import render_page

bp = Blueprint("label_portal", __name__, url_prefix="/returns/<shop_slug>/status/<token>/label")

# The progress page asks again this often (seconds) while the label is being made.
REFRESH_SECONDS = 3


@bp.context_processor
def label_page_context() -> dict:
    """The shop's look: the label pages are the portal's, in the request's language."""
    return {"brand": g.get("brand"), "lang": g.get("locale", "en")}


def load_request(shop_slug: str, token: str) -> ReturnRequest:
    """The request behind a status link; the shop slug must match too. Sets the page language
    and the shop's look."""
    req = db.session.scalar(
        select(ReturnRequest)
        .join(Shop, Shop.id == ReturnRequest.shop_id)
        .where(ReturnRequest.public_token == token, Shop.slug == shop_slug)
    )
    if req is None:
        abort(404)
    g.locale = req.language
    g.brand = portal_page.portal_shop(req.shop)
    formal_address.address_customers_of(req.shop)
    return req


def page_request(req: ReturnRequest) -> dict:
    """What the label pages show of the request, as plain data."""
    return {"number": req.number}


def page_return(return_: Return) -> dict:
    """What the label pages show of the return, as plain data."""
    return {
        "number": return_.number,
        "label_status": return_.label_status,
        "label_error": return_.label_error,
        "tracking_number": return_.tracking_number,
        "tracking_url": return_.tracking_url,
    }


def label_links(req: ReturnRequest) -> dict[str, str]:
    """The label pages' links, all under the request's status link."""
    where = {"shop_slug": req.shop.slug, "token": req.public_token}
    pages = ("index", "create", "again", "pdf", "qr", "qr_png")
    return {page: url_for(f"label_portal.{page}", **where) for page in pages} | {
        "status": status_path(req)
    }


def carrier_choices(req: ReturnRequest) -> list[dict]:
    """The shop's enabled carriers, with how the parcel is handed over where the carrier says."""
    choices = []
    for code in labels.enabled_carriers(req.shop):
        account = labels.carrier_account(req.shop, code)
        settings = (account.settings or {}) if account else {}
        option = settings.get("delivery_option", "drop_off_point")
        choices.append(
            {
                "code": code,
                "name": str(labels.ADAPTERS[code].name),
                "handover": handover_text(option),
            }
        )
    return choices


def handover_text(delivery_option: str) -> str:
    """How the parcel reaches the carrier (Sendcloud's ``delivery_option`` setting)."""
    if delivery_option == "pickup":
        return _("The carrier picks the parcel up at your address.")
    return _("Drop the parcel off at a service point.")


def status_path(req: ReturnRequest) -> str:
    return links.status_path(req.shop.slug, req.public_token)


@bp.get("")
def index(shop_slug: str, token: str):
    """The label page: the carrier choice before, the label's progress and links after."""
    req = load_request(shop_slug, token)
    page = {"req": page_request(req), "links": label_links(req)}
    return_ = workflow.active_return(req)
    if return_ is None and (refusal := workflow.label_refusal(req)) is not None:
        return render_page("label_portal/unavailable.html", refusal=refusal, **page)
    if return_ is None:
        return render_page(
            "label_portal/choose.html",
            carriers=carrier_choices(req),
            fee=settlement_summary(req).label_fee,
            **page,
        )
    busy = return_.label_status in ("pending", "working")
    return render_page(
        "label_portal/label.html",
        return_=page_return(return_),
        busy=busy,
        refresh=REFRESH_SECONDS if busy else None,
        accepts_qr=accepts_qr(return_),
        **page,
    )


@bp.post("")
def create(shop_slug: str, token: str):
    """Create the label; a second submit (double click, back button) finds the same return."""
    req = load_request(shop_slug, token)
    try:
        return_ = labels.create_return(req, request.form.get("carrier", ""), audit.CUSTOMER)
        db.session.commit()
    except workflow.TransitionRefused as refused:
        db.session.rollback()
        if workflow.active_return(req) is None:
            flash(str(refused), "danger")
        return redirect(url_for(".index", shop_slug=shop_slug, token=token))
    if return_.label_status == "pending":
        label_jobs.start_label_job(return_.id)
    return redirect(url_for(".index", shop_slug=shop_slug, token=token))


@bp.post("/again")
def again(shop_slug: str, token: str):
    """Make the label again on the same return (it failed, or the customer lost it)."""
    req = load_request(shop_slug, token)
    return_ = workflow.active_return(req) or abort(404)
    try:
        workflow.recreate_label(return_, audit.CUSTOMER)
        db.session.commit()
        label_jobs.start_label_job(return_.id)
    except workflow.TransitionRefused as refused:
        db.session.rollback()
        flash(str(refused), "danger")
    return redirect(url_for(".index", shop_slug=shop_slug, token=token))


def ready_return(req: ReturnRequest) -> Return:
    return_ = workflow.active_return(req)
    if return_ is None or return_.label_status != "ready":
        abort(404)
    return return_


@bp.get("/pdf")
def pdf(shop_slug: str, token: str):
    """The label PDF as a download."""
    attachment = label_jobs.label_attachment(ready_return(load_request(shop_slug, token)))
    if attachment is None:
        abort(404)
    return storage.send(attachment)


def accepts_qr(return_: Return) -> bool:
    adapter = labels.ADAPTERS.get(return_.carrier)
    return bool(adapter and adapter.accepts_qr and return_.qr_payload)


@bp.get("/qr")
def qr(shop_slug: str, token: str):
    """ "No printer?": a QR code to show at the drop-off point instead of a printed label."""
    req = load_request(shop_slug, token)
    return_ = ready_return(req)
    if not accepts_qr(return_):
        abort(404)
    return render_page("label_portal/qr.html", return_=page_return(return_), links=label_links(req))


@bp.get("/qr.png")
def qr_png(shop_slug: str, token: str):
    return_ = ready_return(load_request(shop_slug, token))
    if not accepts_qr(return_):
        abort(404)
    image = qrcode.make(return_.qr_payload, box_size=10, border=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "private, no-store"
    return response
