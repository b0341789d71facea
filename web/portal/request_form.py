"""The customer's return portal at ``/returns/<shop-slug>/``: find the order, ask, follow.

Every step is a plain server-side form, so the portal works without JavaScript. The draft
lives in Flask's signed session cookie; photos and files are checked and stored as they are
uploaded and only linked to the request on submission.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from domain import formal_address, formatting, portal_page, submission, submission_rules
from domain.product_images import shown_image_url
from domain.statuses import CUSTOMER_STATUS_WORDS, RESOLUTION_LABELS
from domain.submission_rules import Answer, ChosenLine, Problem
from extensions import db, limiter
from models import FormQuestion, Order, ReturnReason, ReturnRequest, Shop
from services import storage
from services.connectors import orders as connector_orders
from web import throttling
from web.int_args import parse_int
from web.portal import status_view

bp = Blueprint("portal", __name__, url_prefix="/returns/<slug>")

DRAFT_KEY = "portal_draft"
# The form field of each part of a chosen line the rule book names (``lines.0.reason``).
LINE_FIELDS = {
    "order_line_id": "qty",
    "quantity": "qty",
    "reason": "reason",
    "comment": "comment",
    "photos": "photos",
}
# The step where the customer fills in each field the rule book names.
FIELD_STEPS = {
    "lines": "portal.items",
    "order_number": "portal.items",
    "order_line_id": "portal.items",
    "quantity": "portal.items",
    "reason": "portal.details",
    "comment": "portal.details",
    "photos": "portal.details",
    "answers": "portal.questions",
    "resolution": "portal.resolution",
    "exchange_note": "portal.resolution",
    "language": "portal.resolution",
}


# --- shop, language and draft --------------------------------------------------------------


@bp.url_value_preprocessor
def pull_slug(endpoint, values) -> None:
    g.shop_slug = values.pop("slug", None) if values else None


@bp.url_defaults
def add_slug(endpoint, values) -> None:
    """Links stay in the shop of the page (its slug as the URL had it: reading ``g.shop``
    after a commit would load the shop again)."""
    if "slug" not in values and g.get("shop_slug"):
        values["slug"] = g.shop_slug


@bp.before_request
def load_shop() -> None:
    """Find the shop of the URL and fix the page language for this request."""
    if getattr(g, "shop", None) is not None:
        return
    shop = db.session.scalar(select(Shop).where(Shop.slug == g.shop_slug))
    if shop is None:
        abort(404)
    g.shop = shop
    g.locale = portal_language(shop)
    formal_address.address_customers_of(shop)


def portal_language(shop: Shop) -> str:
    """The visible switch (``?lang=``) wins, then an earlier switch, then Accept-Language."""
    offered = shop.language_list or ["nl", "en"]
    chosen = request.args.get("lang")
    if chosen in offered:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in offered:
        return session["lang"]
    return request.accept_languages.best_match(offered) or (
        shop.default_language if shop.default_language in offered else offered[0]
    )


@bp.context_processor
def portal_context() -> dict:
    shop = getattr(g, "shop", None)
    shown = portal_page.portal_shop(shop) if shop else None
    return {
        "shop": shown,
        "brand": shown,
        "resolution_labels": RESOLUTION_LABELS,
        "money": money,
        "lang": getattr(g, "locale", "en"),
        "lang_url": lang_url,
    }


def lang_url(code: str) -> str:
    """This page in another language, keeping its other query arguments."""
    args = {key: value for key, value in request.args.items() if key != "lang"}
    return url_for(request.endpoint, **(request.view_args or {}), **args, lang=code)


def money(cents: int) -> str:
    return formatting.money(cents, g.shop.currency)


def get_draft() -> dict:
    """The customer's draft for this shop (a new, empty one after switching shops)."""
    draft = session.get(DRAFT_KEY)
    if not draft or draft.get("shop") != g.shop.slug:
        return {"shop": g.shop.slug}
    return dict(draft)


def save_draft(draft: dict) -> None:
    session[DRAFT_KEY] = draft


def draft_order(draft: dict) -> Order | None:
    """The order the customer found, only ever looked up within this shop."""
    order_id = draft.get("order_id")
    if not order_id:
        return None
    return db.session.scalar(select(Order).where(Order.id == order_id, Order.shop_id == g.shop.id))


def require_order():
    """``(draft, order, None)``, or ``(draft, None, redirect)`` before the order is found."""
    draft = get_draft()
    order = draft_order(draft)
    if order is None:
        return draft, None, redirect(url_for("portal.lookup"))
    return draft, order, None


def chosen_lines(draft: dict) -> list[ChosenLine]:
    return [
        ChosenLine(
            order_line_id=int(line_id),
            quantity=entry["quantity"],
            reason_id=entry.get("reason_id"),
            comment=entry.get("comment", ""),
            photo_ids=entry.get("photo_ids", []),
        )
        for line_id, entry in draft.get("lines", {}).items()
    ]


def line_images(order: Order) -> dict[int, str]:
    """Each order line's product image as the pages may show it ("" for the placeholder)."""
    return {line.id: shown_image_url(line.image_url) for line in order.lines}


def draft_answers(draft: dict) -> list[Answer]:
    """One answer per active question: the text typed, or the file stored for it."""
    files = draft.get("answer_files", {})
    return [
        Answer(
            question_id=question.id,
            value=draft.get("answers", {}).get(str(question.id), ""),
            attachment_id=files.get(str(question.id), {}).get("attachment_id"),
        )
        for question in active_questions()
    ]


def draft_submission(draft: dict) -> submission_rules.Submission:
    return submission_rules.Submission(
        lines=chosen_lines(draft),
        resolution=draft.get("resolution", ""),
        language=g.locale,
        exchange_note=draft.get("exchange_wish", draft.get("exchange_note", "")),
        answers=draft_answers(draft),
    )


def form_field(field: str, lines: Sequence[ChosenLine], answers: Sequence[Answer]) -> str:
    """The form field next to which the portal shows a problem the rule book names."""
    parts = field.split(".")
    if parts[0] == "lines" and len(parts) == 3:
        return f"{LINE_FIELDS[parts[2]]}-{lines[int(parts[1])].order_line_id}"
    if parts[0] == "answers" and len(parts) == 3:
        return f"q-{answers[int(parts[1])].question_id}"
    if parts[0] in ("resolution", "exchange_note") or parts[0].startswith("exchange-"):
        return parts[0]
    return "form"


def add_problems(
    errors: dict[str, str],
    problems: list[Problem],
    lines: Sequence[ChosenLine] = (),
    answers: Sequence[Answer] = (),
) -> dict[str, str]:
    """The rule book's problems as the step's errors; a field keeps its first message (an
    upload the portal refused explains more than the rule that a photo is missing)."""
    for problem in problems:
        errors.setdefault(form_field(problem.field, lines, answers), problem.message)
    return errors


def step_of(problem: Problem) -> str:
    """The step where the customer can mend what the problem names (``lines.0.reason``: the
    details step; ``lines``: the items step)."""
    parts = problem.field.split(".")
    return FIELD_STEPS.get(parts[-1], FIELD_STEPS[parts[0]])


def active_questions() -> list[FormQuestion]:
    return submission_rules.active_questions(g.shop)


def active_reasons() -> list[ReturnReason]:
    return submission_rules.active_reasons(g.shop)


def steps() -> list[tuple[str, str]]:
    """The progress indicator: ``(endpoint, label)`` of each step of this shop's form."""
    items = [
        ("portal.lookup", _("Your order")),
        ("portal.items", _("Items")),
        ("portal.details", _("Details")),
    ]
    if active_questions():
        items.append(("portal.questions", _("Questions")))
    items += [("portal.resolution", _("Resolution")), ("portal.review", _("Review"))]
    return items


def missing_step(draft: dict, before: str) -> str | None:
    """The first step before ``before`` the customer has not completed, if any.

    Going back and changing an earlier step sends the customer through the later ones again.
    """
    done = {
        "portal.items": bool(draft.get("lines")),
        "portal.details": bool(draft.get("details_done")),
        "portal.questions": bool(draft.get("questions_done")),
        "portal.resolution": bool(draft.get("resolution_done")),
    }
    for endpoint, _label in steps():
        if endpoint == before:
            return None
        if not done.get(endpoint, True):
            return endpoint
    return None


def render_page(template: str, **context) -> str:
    """The one way a portal page is rendered: its template sees plain data only
    (``domain.portal_page``), never a model."""
    return render_template(template, **portal_page.plain(context))


def render_step(template: str, **context) -> str:
    """A page of the return form, with its progress indicator."""
    return render_page(template, steps=steps(), current=request.endpoint, **context)


@bp.errorhandler(CSRFError)
def session_expired(error):
    """An expired form (the customer left it open too long): start the step again."""
    flash(_("This page was open for too long. Please fill it in again."), "warning")
    return redirect(request.path)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """All files of one form together exceed the server's limit."""
    load_shop()
    page = render_page("portal/too_large.html")
    return make_response(page, 413)


# --- step 1: find the order -------------------------------------------------------------------


def lookup_failed(response) -> bool:
    """Only failed lookups count against the limits; a customer who finds the order is fine."""
    return bool(g.get("lookup_failed"))


def order_number_key() -> str:
    number = request.form.get("order_number", "").strip().lstrip("#").strip().lower()
    return f"portal-order:{g.get('shop_slug')}:{number}"


def client_and_order_key() -> str:
    return throttling.client_and(order_number_key())


def ip_limit() -> str:
    return current_app.config.get("PORTAL_LOOKUP_LIMIT_PER_IP", "20 per 15 minutes")


def order_limit() -> str:
    """Failed lookups of one order number from one client address."""
    return current_app.config.get("PORTAL_LOOKUP_LIMIT_PER_ORDER", "5 per 15 minutes")


@bp.errorhandler(429)
def too_many_lookups(error):
    """The friendly "try again in …" page, in the customer's language."""
    load_shop()
    page = render_page("portal/limited.html", message=throttling.try_again_message())
    return throttling.refusal(page)


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(ip_limit, methods=["POST"], deduct_when=lookup_failed)
@limiter.limit(
    order_limit, key_func=client_and_order_key, methods=["POST"], deduct_when=lookup_failed
)
@limiter.limit(
    throttling.slowdown, key_func=order_number_key, methods=["POST"], deduct_when=lookup_failed
)
def lookup():
    """Step 1: order number plus the email address or postcode used for it."""
    intent = request.values.get("intent", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        number = request.form.get("order_number", "").strip()
        secret = request.form.get("email_or_postcode", "").strip()
        if not number:
            errors["order_number"] = _("Please enter your order number.")
        if not secret:
            errors["email_or_postcode"] = _("Please enter your email address or postcode.")
        if not errors:
            order = submission.find_order(g.shop, number, secret)
            if order is None and connector_orders.fetch_missing_order(g.shop, number):
                order = submission.find_order(g.shop, number, secret)
            if order is not None:
                save_draft({"shop": g.shop.slug, "order_id": order.id})
                target = "portal.withdraw" if intent == "withdraw" else "portal.items"
                return redirect(url_for(target))
            g.lookup_failed = True
            errors["form"] = _(
                "We could not find an order with these details. Please check the order number "
                "and the email address or postcode."
            )
    return render_step("portal/lookup.html", errors=errors, intent=intent)


# --- step 2: choose items ---------------------------------------------------------------------


@bp.route("/items", methods=["GET", "POST"])
def items():
    """Step 2: which order lines, and how many of each, within what is still returnable."""
    draft, order, back = require_order()
    if back:
        return back
    states = submission_rules.line_states(order, g.shop)
    errors: dict[str, str] = {}
    if request.method == "POST" and order.delivered_at is not None:
        chosen, errors = read_item_choices(order)
        if not errors:
            previous = draft.get("lines", {})
            draft["lines"] = {
                str(line.order_line_id): {
                    **previous.get(str(line.order_line_id), {}),
                    "quantity": line.quantity,
                }
                for line in chosen
            }
            draft.pop("submission_key", None)
            draft["details_done"] = False
            save_draft(draft)
            return redirect(url_for("portal.details"))
    return render_step(
        "portal/items.html",
        order=order,
        states=states,
        images=line_images(order),
        errors=errors,
        withdrawal=submission_rules.withdrawal_possible(order, g.shop),
        customer_status=customer_status,
    )


def customer_status(status: str) -> str:
    """A request's status in the customer's words (the status page's)."""
    return str(CUSTOMER_STATUS_WORDS[status][0])


def resend_limit_key() -> str:
    return throttling.client_and(f"portal-resend:{(request.view_args or {}).get('request_id')}")


@bp.post("/items/resend/<int:request_id>")
@limiter.limit("3 per hour", key_func=resend_limit_key)
def resend_link(request_id: int):
    """Email the link to an earlier request of the found order again (the one holding items
    the customer may not choose now); only a request of that order, only to its address."""
    _draft, order, back = require_order()
    if back:
        return back
    if request_id not in submission_rules.claiming_request_ids(order):
        abort(404)
    earlier = db.session.get(ReturnRequest, request_id)
    submission.resend_confirmation(earlier)
    db.session.commit()
    flash(
        _(
            "We emailed the link to return request %(number)s to the email address of the request.",
            number=earlier.number,
        ),
        "success",
    )
    return redirect(url_for("portal.items"))


def read_item_choices(order: Order) -> tuple[list[ChosenLine], dict[str, str]]:
    """The ticked lines with their quantities, and the rule book's errors by form field."""
    chosen = [
        ChosenLine(
            order_line_id=line.id, quantity=parse_int(request.form.get(f"qty-{line.id}")) or 0
        )
        for line in order.lines
        if request.form.get(f"line-{line.id}") == "1"
    ]
    problems = submission_rules.quantity_problems(order, g.shop, chosen)
    return chosen, add_problems({}, problems, chosen)


# --- step 3: reason, comment and photos per item ----------------------------------------------


@bp.route("/details", methods=["GET", "POST"])
def details():
    """Step 3: per chosen item the reason, a comment and photos where the reason asks for them."""
    draft, order, back = require_order()
    if back:
        return back
    if not draft.get("lines"):
        return redirect(url_for("portal.items"))
    reasons = active_reasons()
    order_lines = {line.id: line for line in order.lines}
    errors: dict[str, str] = {}
    if request.method == "POST":
        for line_id, entry in draft["lines"].items():
            read_line_details(line_id, entry, errors)
        lines = chosen_lines(draft)
        add_problems(errors, submission_rules.detail_problems(g.shop, lines), lines)
        draft["details_done"] = not errors
        save_draft(draft)
        db.session.commit()
        if not errors:
            return redirect(url_for(step_after("portal.details")))
    return render_step(
        "portal/details.html",
        lines=[(order_lines[int(i)], entry) for i, entry in draft["lines"].items()],
        images=line_images(order),
        reasons=reasons,
        photos=photos_by_id(draft),
        errors=errors,
    )


def read_line_details(line_id: str, entry: dict, errors: dict[str, str]) -> None:
    """Read one item's reason, comment and photos into ``entry``; a refused upload is an error
    of its photos field (the rule book judges the rest)."""
    entry["reason_id"] = parse_int(request.form.get(f"reason-{line_id}"))
    entry["comment"] = request.form.get(f"comment-{line_id}", "").strip()
    removed = {parse_int(v) for v in request.form.getlist(f"remove-photo-{line_id}")}
    entry["photo_ids"] = [pid for pid in entry.get("photo_ids", []) if pid not in removed]
    if photo_error := store_photos(line_id, entry):
        errors[f"photos-{line_id}"] = photo_error


def store_photos(line_id: str, entry: dict) -> str | None:
    """Check and store the item's new photos; refused files are never stored."""
    problems = []
    for upload in request.files.getlist(f"photos-{line_id}"):
        if not upload or not upload.filename:
            continue
        if len(entry["photo_ids"]) >= submission_rules.MAX_PHOTOS_PER_LINE:
            limit = submission_rules.MAX_PHOTOS_PER_LINE
            problems.append(_("At most %(count)d photos per item.", count=limit))
            break
        data = upload.read(storage.MAX_PHOTO_BYTES + 1)
        try:
            content_type = storage.check_upload(data, storage.IMAGE_TYPES, storage.MAX_PHOTO_BYTES)
        except storage.UploadRejected as rejected:
            problems.append(upload_problem(upload.filename, str(rejected)))
            continue
        try:
            attachment = storage.save(data, upload.filename, content_type, g.shop.id)
        except storage.StoreUnavailable:
            problems.append(store_down_problem(upload.filename))
            continue
        db.session.flush()
        entry["photo_ids"].append(attachment.id)
    return " ".join(problems) or None


def store_down_problem(filename: str) -> str:
    return _(
        "“%(name)s” could not be stored just now. Please try again in a moment.", name=filename
    )


def upload_problem(filename: str, reason: str) -> str:
    if reason == "too_large":
        return _("“%(name)s” is larger than 10 MB.", name=filename)
    if reason == "empty":
        return _("“%(name)s” is empty.", name=filename)
    if reason == "dimensions":
        return _("“%(name)s” has too many pixels; please send a smaller photo.", name=filename)
    return _("“%(name)s” is not a JPEG, PNG, WebP or HEIC photo.", name=filename)


def photos_by_id(draft: dict) -> dict:
    ids = [pid for entry in draft.get("lines", {}).values() for pid in entry.get("photo_ids", [])]
    ids += [a["attachment_id"] for a in draft.get("answer_files", {}).values()]
    return {a.id: a for a in storage.attachments_by_id(ids) if a.shop_id == g.shop.id}


def step_after(endpoint: str) -> str:
    names = [name for name, _label in steps()]
    return names[names.index(endpoint) + 1]


# --- step 4: the shop's extra questions -------------------------------------------------------


@bp.route("/questions", methods=["GET", "POST"])
def questions():
    """Step 4: the shop's ``FormQuestion``s (text, choice, yes/no, file)."""
    draft, _order, back = require_order()
    if back:
        return back
    if missing := missing_step(draft, before="portal.questions"):
        return redirect(url_for(missing))
    form_questions = active_questions()
    if not form_questions:
        return redirect(url_for("portal.resolution"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        answers = dict(draft.get("answers", {}))
        files = dict(draft.get("answer_files", {}))
        for question in form_questions:
            if error := read_answer(question, answers, files):
                errors[f"q-{question.id}"] = error
        draft.update(answers=answers, answer_files=files)
        given = draft_answers(draft)
        add_problems(errors, submission_rules.answer_problems(g.shop, given), answers=given)
        draft["questions_done"] = not errors
        save_draft(draft)
        db.session.commit()
        if not errors:
            return redirect(url_for("portal.resolution"))
    return render_step(
        "portal/questions.html",
        questions=form_questions,
        choices={q.id: submission_rules.question_choices(q) for q in form_questions},
        errors=errors,
    )


def read_answer(question: FormQuestion, answers: dict, files: dict) -> str | None:
    """Read one answer into ``answers``/``files``; return the error of a refused upload (the
    rule book judges the answers)."""
    key = str(question.id)
    if question.kind == "file":
        upload = request.files.get(f"q-{question.id}")
        if upload and upload.filename:
            data = upload.read(storage.MAX_PHOTO_BYTES + 1)
            try:
                content_type = storage.check_upload(
                    data, storage.DOCUMENT_TYPES, storage.MAX_PHOTO_BYTES
                )
            except storage.UploadRejected as rejected:
                if rejected.args[0] == "type":
                    return _("“%(name)s” is not a photo, PDF or text file.", name=upload.filename)
                return upload_problem(upload.filename, str(rejected))
            try:
                attachment = storage.save(data, upload.filename, content_type, g.shop.id)
            except storage.StoreUnavailable:
                return store_down_problem(upload.filename)
            db.session.flush()
            files[key] = {"attachment_id": attachment.id, "name": attachment.original_name}
        return None
    answers[key] = request.form.get(f"q-{question.id}", "").strip()
    return None


# --- step 5: resolution -----------------------------------------------------------------------


@bp.route("/resolution", methods=["GET", "POST"])
def resolution():
    """Step 5: refund, exchange (with a note on the wanted size or colour) or store credit."""
    draft, order, back = require_order()
    if back:
        return back
    if missing := missing_step(draft, before="portal.resolution"):
        return redirect(url_for(missing))
    errors: dict[str, str] = {}
    pickable = exchange_variants(draft, order)
    if request.method == "POST":
        chosen = request.form.get("resolution", "")
        note = request.form.get("exchange_note", "").strip()
        picks = picked_variants(pickable) if chosen == "exchange" else []
        wish = submission_rules.exchange_wish(picks, note)
        draft.update(
            resolution=chosen,
            exchange_note=note,
            exchange_picks={str(pick.order_line_id): pick.variant for pick in picks},
            exchange_wish=wish,
        )
        options = {line["id"]: line["options"] for line in pickable}
        add_problems(errors, submission_rules.exchange_pick_problems(options, picks))
        add_problems(errors, submission_rules.resolution_problems(g.shop, chosen, wish))
        draft["resolution_done"] = not errors
        save_draft(draft)
        if not errors:
            return redirect(url_for("portal.review"))
    return render_step("portal/resolution.html", errors=errors, pickable=pickable)


def exchange_variants(draft: dict, order: Order) -> list[dict]:
    """The chosen items whose order line offers variants to pick in an exchange, as plain data."""
    chosen = {line.order_line_id for line in chosen_lines(draft)}
    return [
        {
            "id": line.id,
            "item": str(line),
            "options": list(line.variant_options),
            "image_url": shown_image_url(line.image_url),
        }
        for line in order.lines
        if line.id in chosen and line.variant_options
    ]


def picked_variants(pickable: list[dict]) -> list[submission_rules.ExchangePick]:
    """The variants picked on the form (an item left on "Choose…" is not picked)."""
    picks = []
    for line in pickable:
        variant = request.form.get(f"exchange-{line['id']}", "").strip()
        if variant:
            picks.append(submission_rules.ExchangePick(line["id"], line["item"], variant))
    return picks


# --- step 6: review and submit ----------------------------------------------------------------


@bp.route("/review", methods=["GET", "POST"])
def review():
    """Step 6: the summary with the shipping cost, then submit (a double submit creates one)."""
    key = request.form.get("submission_key", "")
    if request.method == "POST" and (done := submission.request_for_key(g.shop, key)):
        return redirect(url_for("portal.status", token=done.public_token))
    draft, order, back = require_order()
    if back:
        return back
    if missing := missing_step(draft, before="portal.review"):
        return redirect(url_for(missing))
    if request.method == "POST" and key and key == draft.get("submission_key"):
        return submit(draft, order, key)
    draft.setdefault("submission_key", secrets.token_urlsafe(24))
    save_draft(draft)
    order_lines = {line.id: line for line in order.lines}
    reasons = {reason.id: reason for reason in active_reasons()}
    return render_step(
        "portal/review.html",
        order=order,
        lines=[(order_lines[int(i)], entry) for i, entry in draft["lines"].items()],
        images=line_images(order),
        reasons=reasons,
        questions=active_questions(),
        photos=photos_by_id(draft),
        free=g.shop.ships_free(draft.get("resolution")),
    )


def submit(draft: dict, order: Order, key: str):
    try:
        created = submission.create_request(
            g.shop, order, draft_submission(draft), submission_key=key
        )
    except submission_rules.SubmissionRefused as refusal:
        return back_to_step(draft, refusal.problems[0])
    session.pop(DRAFT_KEY, None)
    flash(_("Thank you! We have received your return request."), "success")
    return redirect(url_for("portal.status", token=created.public_token))


def back_to_step(draft: dict, problem: Problem):
    """Something changed since the customer filled in a step (units claimed by another
    request, a reason withdrawn by the shop): send them back to that step to choose again."""
    step = step_of(problem)
    if step == "portal.items":
        flash(_("Some items can no longer be returned. Please choose again."), "danger")
    else:
        flash(problem.message, "danger")
    done_flags = {
        "portal.items": "details_done",
        "portal.details": "details_done",
        "portal.questions": "questions_done",
        "portal.resolution": "resolution_done",
    }
    draft.pop("submission_key", None)
    save_draft({**draft, done_flags[step]: False})
    return redirect(url_for(step))


# --- the EU withdrawal function ---------------------------------------------------------------


@bp.route("/withdraw", methods=["GET", "POST"])
def withdraw():
    """ "Withdraw from contract": choose the items, confirm once, acknowledged by email at once."""
    key = request.form.get("submission_key", "")
    if request.method == "POST" and (done := submission.request_for_key(g.shop, key)):
        return redirect(url_for("portal.status", token=done.public_token))
    draft = get_draft()
    order = draft_order(draft)
    if order is None:
        return redirect(url_for("portal.lookup", intent="withdraw"))
    possible = submission_rules.withdrawal_possible(order, g.shop)
    quantities = submission_rules.withdrawable_quantities(order)
    errors: dict[str, str] = {}
    if request.method == "POST" and possible and key == draft.get("withdrawal_key"):
        chosen = [
            ChosenLine(order_line_id=line.id, quantity=quantities[line.id])
            for line in order.lines
            if request.form.get(f"line-{line.id}") == "1" and quantities[line.id] > 0
        ]
        problems = submission_rules.quantity_problems(order, g.shop, chosen, is_withdrawal=True)
        if not problems:
            return submit_withdrawal(order, chosen, key)
        add_problems(errors, problems, chosen)
    draft.setdefault("withdrawal_key", secrets.token_urlsafe(24))
    save_draft(draft)
    return render_page(
        "portal/withdraw.html",
        order=order,
        possible=possible,
        quantities=quantities,
        errors=errors,
        key=draft["withdrawal_key"],
    )


def submit_withdrawal(order: Order, chosen: list[ChosenLine], key: str):
    withdrawal = submission_rules.Submission(
        lines=chosen, resolution="refund", language=g.locale, is_withdrawal=True
    )
    try:
        created = submission.create_request(g.shop, order, withdrawal, submission_key=key)
    except submission_rules.SubmissionRefused:
        flash(_("These items can no longer be withdrawn."), "danger")
        return redirect(url_for("portal.withdraw"))
    session.pop(DRAFT_KEY, None)
    flash(
        _(
            "We received your withdrawal on %(moment)s. The acknowledgement is on its way to "
            "your email address.",
            moment=formatting.moment(created.created_at, g.shop),
        ),
        "success",
    )
    return redirect(url_for("portal.status", token=created.public_token))


# --- the status page --------------------------------------------------------------------------


@bp.route("/status/<token>")
def status(token: str):
    """The request by its unguessable token, only within this shop."""
    found = db.session.scalar(
        select(ReturnRequest).where(
            ReturnRequest.public_token == token, ReturnRequest.shop_id == g.shop.id
        )
    )
    if found is None:
        abort(404)
    return render_page("portal/status.html", page=status_view.status_page(found, g.locale))


@bp.app_template_global("withdrawal_refund_deadline")
def refund_deadline_global(request: ReturnRequest) -> datetime | None:
    return submission.withdrawal_refund_deadline(request)
