"""One rule book for the portal and the API: the same submission is refused for the same reason
on the same field, and the same good submission is stored the same way, whichever way it came.

Both entry points are driven over HTTP as a customer (the portal, in Dutch) and a webshop (the
API, asking for Dutch) would; the API names the rule by its code, the portal shows that rule's
message next to the field of its step.
"""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key
from extensions import db
from factories import make_order, make_question, make_reasons, make_shop
from models import FormQuestion, Order, ReturnReason, ReturnRequest
from portal_helpers import PORTAL_ORDER

GOOD = {
    "quantity": 1,
    "reason": "too_big",
    "comment": "Valt groot",
    "answer": "Nee",
    "resolution": "refund",
    "exchange_note": "",
}


@pytest.fixture
def shop(app):
    shop = make_shop(offered_resolutions="refund,exchange")
    make_reasons(shop)
    make_question(shop, "text", label_nl="Heb je het gedragen?", label_en="Did you wear it?")
    make_question(
        shop,
        "choice",
        required=False,
        choices="Winkel\nOnline",
        label_nl="Waar?",
        label_en="Where?",
    )
    db.session.commit()
    return shop


@pytest.fixture
def customer(client):
    """A customer whose browser asks for Dutch."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    return client


@pytest.fixture
def webshop(app, shop):
    """The webshop's system, with an API key, asking for Dutch messages."""
    key = make_key(shop)
    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(key)["Authorization"]
    return client


def reason_id(code: str) -> int:
    return db.session.scalar(select(ReturnReason.id).where(ReturnReason.code == code))


def questions() -> tuple[FormQuestion, FormQuestion]:
    text, choice = db.session.scalars(select(FormQuestion).order_by(FormQuestion.id))
    return text, choice


# --- the portal, step by step ------------------------------------------------------------------


def portal_steps(order: Order, line_id: int, given: dict) -> list[tuple[str, dict]]:
    """The posts of the portal's steps for one line of the order, in order."""
    text, choice = questions()
    reason = reason_id(given["reason"]) if given["reason"] else ""
    return [
        ("/", {"order_number": order.number, "email_or_postcode": order.customer_email}),
        ("/items", {f"line-{line_id}": "1", f"qty-{line_id}": str(given["quantity"])}),
        ("/details", {f"reason-{line_id}": str(reason), f"comment-{line_id}": given["comment"]}),
        ("/questions", {f"q-{text.id}": given["answer"], f"q-{choice.id}": "Online"}),
        (
            "/resolution",
            {"resolution": given["resolution"], "exchange_note": given["exchange_note"]},
        ),
    ]


def through_portal(customer, order: Order, line_id: int, **changes):
    """Walk the steps; the page of the first step that refuses, or the review page."""
    for path, data in portal_steps(order, line_id, GOOD | changes):
        response = customer.post(f"/returns/demo{path}", data=data)
        if response.status_code != 302:
            return response
    return customer.get("/returns/demo/review")


def submission_key(customer) -> str:
    review = customer.get("/returns/demo/review")
    return re.search(rb'name="submission_key" value="([^"]+)"', review.data).group(1).decode()


def submit_in_portal(customer, key: str | None = None):
    key = key or submission_key(customer)
    response = customer.post("/returns/demo/review", data={"submission_key": key})
    assert response.status_code == 302
    return response


def message_next_to(page, field: str) -> str | None:
    found = re.search(rf'id="{field}-error">([^<]*)<', page.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


# --- the API -----------------------------------------------------------------------------------


def api_body(order: Order, line_id: int, **changes) -> dict:
    given = GOOD | changes
    text, choice = questions()
    line = {"order_line_id": line_id, "quantity": given["quantity"], "comment": given["comment"]}
    if given["reason"]:
        line["reason"] = given["reason"]
    body = {
        "order_number": order.number,
        "lines": [line],
        "resolution": given["resolution"],
        "answers": [
            {"question_id": text.id, "answer": given["answer"]},
            {"question_id": choice.id, "answer": "Online"},
        ],
    }
    if given["exchange_note"]:
        body["exchange_note"] = given["exchange_note"]
    return body


def api_problems(response) -> dict[str, tuple[str, str]]:
    """``{field: (code, message)}`` of a refusal."""
    assert response.status_code == 409, response.json
    assert response.mimetype == "application/problem+json"
    return {e["field"]: (e["code"], e["message"]) for e in response.json["errors"]}


# --- the same bad submission, refused the same way ---------------------------------------------


@pytest.mark.parametrize(
    ("changes", "refusals"),
    [
        ({"reason": ""}, {"lines.0.reason": ("reason", "reason_required")}),
        (
            {"reason": "damaged", "comment": ""},
            {
                "lines.0.comment": ("comment", "comment_required"),
                "lines.0.photos": ("photos", "photo_required"),
            },
        ),
        ({"quantity": 3}, {"lines.0.quantity": ("qty", "quantity_too_high")}),
        ({"answer": ""}, {"answers.0.answer": ("q", "answer_required")}),
        ({"resolution": "store_credit"}, {"resolution": ("resolution", "resolution_not_offered")}),
        (
            {"resolution": "exchange"},
            {"exchange_note": ("exchange_note", "exchange_note_required")},
        ),
    ],
    ids=[
        "no reason",
        "reason needs comment and photo",
        "too many",
        "required answer",
        "resolution",
        "exchange note",
    ],
)
def test_portal_and_api_refuse_the_same_submission_for_the_same_reason(
    customer, webshop, shop, changes, refusals
):
    order = make_order(shop, **PORTAL_ORDER)
    db.session.commit()
    blouse = order.lines[0].id  # two bought
    text, _choice = questions()

    api = api_problems(
        webshop.post("/api/v1/return-requests", json=api_body(order, blouse, **changes))
    )
    page = through_portal(customer, order, blouse, **changes)

    assert page.status_code == 200
    assert {field: code for field, (code, _message) in api.items()} == {
        field: code for field, (_prefix, code) in refusals.items()
    }
    for field, (prefix, _code) in refusals.items():
        portal_field = f"q-{text.id}" if prefix == "q" else prefix
        if prefix in ("reason", "comment", "photos", "qty"):
            portal_field = f"{prefix}-{blouse}"
        assert message_next_to(page, portal_field) == api[field][1]
    assert db.session.scalars(select(ReturnRequest)).all() == []


def test_units_claimed_since_are_refused_by_both(customer, webshop, shop):
    order = make_order(shop, **PORTAL_ORDER)
    db.session.commit()
    blouse = order.lines[0].id
    assert through_portal(customer, order, blouse, quantity=2).status_code == 200
    submit_in_portal(customer)

    api = api_problems(webshop.post("/api/v1/return-requests", json=api_body(order, blouse)))
    page = through_portal(customer, order, blouse)

    assert api == {
        "lines.0.quantity": ("not_returnable", "Dit artikel kan niet meer geretourneerd worden.")
    }
    assert (
        message_next_to(page, f"qty-{blouse}") == "Dit artikel kan niet meer geretourneerd worden."
    )


def test_a_reason_the_shop_withdrew_meanwhile_is_refused_by_both(customer, webshop, shop):
    order = make_order(shop, **PORTAL_ORDER)
    db.session.commit()
    blouse = order.lines[0].id
    assert through_portal(customer, order, blouse).status_code == 200
    key = submission_key(customer)
    db.session.get(ReturnReason, reason_id("too_big")).active = False
    db.session.commit()

    api = api_problems(webshop.post("/api/v1/return-requests", json=api_body(order, blouse)))
    submitted = submit_in_portal(customer, key)

    message = "De winkel biedt deze reden niet aan. Kies een andere."
    assert api == {"lines.0.reason": ("unknown_reason", message)}
    assert submitted.location.endswith("/returns/demo/details")
    assert message in html.unescape(customer.get("/returns/demo/details").get_data(as_text=True))
    assert db.session.scalars(select(ReturnRequest)).all() == []


# --- the same good submission, stored the same way ---------------------------------------------


def stored(request: ReturnRequest) -> dict:
    """What staff see of a request, apart from its number, order and moments."""
    return {
        "lines": [
            (line.order_line.sku, line.quantity, line.reason and line.reason.code, line.comment)
            for line in request.lines
        ],
        "answers": request.answers,
        "resolution": request.resolution,
        "exchange_note": request.exchange_note,
        "language": request.language,
        "is_withdrawal": request.is_withdrawal,
        "item_count": request.item_count,
        "total_cents": request.total_cents,
        "free_shipping": request.free_shipping,
    }


def request_of(order: Order) -> ReturnRequest:
    return db.session.scalar(select(ReturnRequest).where(ReturnRequest.order_id == order.id))


def test_the_same_good_submission_is_stored_the_same_from_the_portal_and_the_api(
    customer, webshop, shop
):
    in_portal, in_api = (
        make_order(shop, **{**PORTAL_ORDER, "number": "1001"}),
        make_order(shop, **{**PORTAL_ORDER, "number": "1002"}),
    )
    db.session.commit()
    exchange = {"quantity": 2, "resolution": "exchange", "exchange_note": "Maat S"}

    assert through_portal(customer, in_portal, in_portal.lines[0].id, **exchange).status_code == 200
    submit_in_portal(customer)
    response = webshop.post(
        "/api/v1/return-requests", json=api_body(in_api, in_api.lines[0].id, **exchange)
    )

    assert response.status_code == 201, response.json
    from_portal, from_api = stored(request_of(in_portal)), stored(request_of(in_api))
    assert from_api == from_portal
    text, choice = questions()
    assert from_api["answers"] == {
        str(text.id): {"question": "Heb je het gedragen?", "kind": "text", "value": "Nee"},
        str(choice.id): {"question": "Waar?", "kind": "choice", "value": "Online"},
    }
    assert from_api["lines"] == [("SKU-0", 2, "too_big", "Valt groot")]
    assert (from_api["language"], from_api["exchange_note"]) == ("nl", "Maat S")


def test_a_withdrawal_is_stored_the_same_from_the_portal_and_the_api(customer, webshop, shop):
    in_portal, in_api = (
        make_order(shop, **{**PORTAL_ORDER, "number": "1001"}),
        make_order(shop, **{**PORTAL_ORDER, "number": "1002"}),
    )
    db.session.commit()

    customer.post(
        "/returns/demo/?intent=withdraw",
        data={"order_number": "1001", "email_or_postcode": in_portal.customer_email},
    )
    page = customer.get("/returns/demo/withdraw")
    key = re.search(rb'name="submission_key" value="([^"]+)"', page.data).group(1).decode()
    ticked = {f"line-{line.id}": "1" for line in in_portal.lines}
    customer.post("/returns/demo/withdraw", data={"submission_key": key, **ticked})
    lines = [{"order_line_id": line.id, "quantity": line.quantity} for line in in_api.lines]
    body = {"order_number": "1002", "lines": lines, "is_withdrawal": True}
    response = webshop.post("/api/v1/return-requests", json=body)

    assert response.status_code == 201, response.json
    assert response.json["is_withdrawal"] is True
    from_portal, from_api = stored(request_of(in_portal)), stored(request_of(in_api))
    assert from_api == from_portal
    assert (from_api["is_withdrawal"], from_api["resolution"], from_api["answers"]) == (
        True,
        "refund",
        {},
    )
