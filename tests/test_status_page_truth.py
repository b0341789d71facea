"""The customer's status page tells only what is true at each step.

Before: a request approved with the items kept showed an empty "Return label" heading and
"Expected amount: final once the items are received and checked" (nothing is received); an
item the agent refused was listed under "Items" like the others, unmarked. (A cancelled label
waiting for the agent is in ``test_label_portal``.)
"""

from __future__ import annotations

import dataclasses

import pytest
from flask import template_rendered

from domain import workflow
from extensions import db
from factories import make_request
from harness import visible

PROVISIONAL = "Expected amount: final once the items are received and checked."


def status_page(client, request, language: str = "en") -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    return visible(client.get(path).get_data(as_text=True))


@pytest.fixture
def partly_refused(shop, agent):
    """Two items asked back; the second refused with a reason, the first approved."""
    request = make_request(shop, language="en")
    first, second = request.lines
    workflow.decide_line(request, agent, first, approved=True)
    workflow.decide_line(request, agent, second, approved=False, reason="Worn, tags removed")
    workflow.approve(request, agent)
    db.session.commit()
    return request


def test_keeping_the_items_shows_no_label_section_and_no_pending_receipt(client, shop, agent):
    request = make_request(shop, language="en")
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()

    page = status_page(client, request)

    assert "Return label" not in page
    assert PROVISIONAL not in page
    assert "Expected refund: €109.90." in page


def test_a_return_on_its_way_says_the_amount_is_final_once_received(client, request_):
    page = status_page(client, request_)

    assert PROVISIONAL in page


def listed_items(client, request, language: str = "en") -> list[str]:
    """The status page's "Items", one visible text per item."""
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    html = client.get(path).get_data(as_text=True)
    items = html.split('<ul id="items">', 1)[1].split("</ul>", 1)[0]
    return [visible(item) for item in items.split("</li>")[:-1]]


def test_a_refused_item_is_marked_refused_with_its_reason(client, partly_refused):
    approved, refused = listed_items(client, partly_refused)
    [_, refused_nl] = listed_items(client, partly_refused, "nl")

    assert "Not approved for return" not in approved
    assert refused.endswith("Not approved for return: Worn, tags removed")
    assert refused_nl.endswith("Niet goedgekeurd voor retour: Worn, tags removed")


def holds_orm_object(value: object) -> bool:
    """Whether ``value`` is, or holds anywhere inside it, a database row."""
    if isinstance(value, db.Model):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(holds_orm_object(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return any(holds_orm_object(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(holds_orm_object(item) for item in value)
    return False


def test_the_status_page_template_gets_plain_data(app, client, partly_refused):
    rendered: list[dict] = []

    def keep(sender, template, context, **extra):
        if template.name == "portal/status.html":
            rendered.append(context)

    with template_rendered.connected_to(keep, app):
        status_page(client, partly_refused)

    [context] = rendered
    assert "req" not in context
    assert not holds_orm_object(context["page"])
