"""The customer's pages are rendered from plain data: no template of the portal, the status
page, the label pages or the customer's error pages is handed a database row.

Before: every portal page had the ``Shop`` row as ``shop``, and the form's steps their
``Order``, ``OrderLine``, ``ReturnReason``, ``FormQuestion`` and ``Attachment`` rows; a
template could climb from any of them to the database.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask import before_render_template
from sqlalchemy import select

from domain import workflow
from domain.portal_page import NotPlainData, plain
from extensions import db
from factories import RETURN_ADDRESS
from models import ReturnRequest
from plain_templates import models_in
from portal_helpers import choose, give_details, jpeg_bytes, lookup, submission_key, submit
from return_flow import run_jobs

# The label pages need the shop's return address.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

# Every page a customer can meet; the walk below must render each of them.
CUSTOMER_TEMPLATES = {
    "portal/lookup.html",
    "portal/items.html",
    "portal/details.html",
    "portal/questions.html",
    "portal/resolution.html",
    "portal/review.html",
    "portal/status.html",
    "portal/withdraw.html",
    "portal/error.html",
    "portal/limited.html",
    "portal/too_large.html",
    "label_portal/choose.html",
    "label_portal/label.html",
    "label_portal/qr.html",
    "label_portal/unavailable.html",
}


@pytest.fixture
def seen(app) -> Iterator[dict[str, list[str]]]:
    """``{template: [where a database row was in its context, …]}`` of every page rendered."""
    rendered: dict[str, list[str]] = {}

    def look(sender, template, context, **extra) -> None:
        found = rendered.setdefault(template.name, [])
        for name, value in context.items():
            found.extend(f"{name}: {model}" for model in models_in(value))

    with before_render_template.connected_to(look, app):
        yield rendered


def fill_the_form(client, order, reasons, question) -> str:
    """Every step with the blouse, damaged, with a photo; the review page, then submit.
    The new request's status link."""
    blouse = order.lines[0].id
    assert client.get("/returns/demo/").status_code == 200
    assert lookup(client).status_code == 302
    assert client.get("/returns/demo/items").status_code == 200
    assert choose(client, {blouse: 1}).status_code == 302
    photo = [("kapot.jpg", jpeg_bytes())]
    assert give_details(client, [blouse], reasons["damaged"], "Scheur", photo).status_code == 302
    assert client.get("/returns/demo/details").status_code == 200  # with the photo added
    assert client.get("/returns/demo/questions").status_code == 200
    answer = {f"q-{question.id}": "Te groot"}
    assert client.post("/returns/demo/questions", data=answer).status_code == 302
    assert client.get("/returns/demo/resolution").status_code == 200
    assert client.post("/returns/demo/resolution", data={"resolution": "refund"}).status_code == 302
    submitted = submit(client, submission_key(client))
    assert submitted.status_code == 302 and "/status/" in submitted.location
    return submitted.location


def withdraw_the_scarf(client, order) -> None:
    """Find the order again (the blouse is now in a request) and withdraw from the purchase
    of the scarf."""
    scarf = order.lines[1].id
    assert lookup(client, intent="withdraw").location.endswith("/withdraw")
    items = client.get("/returns/demo/items").get_data(as_text=True)
    assert 'id="earlier-requests"' in items
    page = client.get("/returns/demo/withdraw")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.get_data(as_text=True))[1]
    confirmed = client.post(
        "/returns/demo/withdraw", data={"submission_key": key, f"line-{scarf}": "1"}
    )
    assert confirmed.status_code == 302 and "/status/" in confirmed.location


def meet_the_label_pages(client, status: str, agent) -> None:
    """Before approval (no label yet), then choose a carrier, the label and its QR code."""
    assert client.get(f"{status}/label").status_code == 200  # unavailable: not approved
    token = status.rsplit("/", 1)[1]
    request = db.session.scalar(select(ReturnRequest).where(ReturnRequest.public_token == token))
    workflow.approve(request, agent)
    db.session.commit()
    assert client.get(f"{status}/label").status_code == 200
    assert client.post(f"{status}/label", data={"carrier": "own"}).status_code == 302
    run_jobs()
    assert client.get(f"{status}/label").status_code == 200
    assert client.get(f"{status}/label/qr").status_code == 200


def meet_the_refusals(app, client, order, reasons) -> None:
    """A page that does not exist, in a shop and outside any; files too large; too many
    failed lookups."""
    assert client.get("/returns/demo/status/no-such-token").status_code == 404
    assert client.get("/returns/no-such-shop/").status_code == 404
    lookup(client)
    choose(client, {order.lines[0].id: 1})
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    big = [("groot.jpg", b"x" * 60_000)]
    assert (
        give_details(client, [order.lines[0].id], reasons["damaged"], "x", big).status_code == 413
    )
    for _attempt in range(5):
        assert lookup(client, "1001", "wrong@example.com").status_code == 200
    assert lookup(client, "1001", "wrong@example.com").status_code == 429


def test_no_customer_page_is_handed_a_database_row(app, client, portal_demo, agent, seen):
    _shop, order, reasons, question = portal_demo

    status = fill_the_form(client, order, reasons, question)
    assert client.get(status).status_code == 200
    assert client.post(f"{status}/reply", data={"body": ""}).status_code == 400
    assert client.get("/returns/demo/items").status_code == 302  # the draft is gone
    withdraw_the_scarf(client, order)
    meet_the_label_pages(client, status, agent)
    meet_the_refusals(app, client, order, reasons)

    assert CUSTOMER_TEMPLATES - set(seen) == set()
    assert {template: rows for template, rows in seen.items() if rows} == {}


def test_a_page_handed_a_row_it_has_no_plain_form_of_is_refused(app, shop, agent):
    """``render_page`` gives the rows the portal shows their plain form; any other row, bare or
    inside a dataclass, stops the page instead of reaching its template."""

    @dataclasses.dataclass(frozen=True)
    class Holder:
        who: object

    assert plain({"shop": [shop]})["shop"][0].name == "Demo Winkel"
    with pytest.raises(NotPlainData):
        plain({"who": agent})
    with pytest.raises(NotPlainData):
        plain({"page": Holder(who=(agent,))})
