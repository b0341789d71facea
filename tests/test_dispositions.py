"""Disposition at receipt: per received item back in stock, refurbished or disposed of (with
the reason), recorded, shown on the return, exported item by item and counted on the dashboard."""

from __future__ import annotations

import csv
import io

import pytest

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_shop, make_user
from models import AuditEvent
from return_flow import approved_request, create_label

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)


@pytest.fixture
def shipment(shop, agent):
    """A delivered return of two items (the shop's first and second product)."""
    return_ = create_label(approved_request(shop, agent))
    workflow.mark_delivered(return_, agent)
    db.session.commit()
    return return_


@pytest.fixture
def logged_in(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def receive(client, return_, **choices: str):
    """Post the inspection form: both items OK and complete, plus ``choices`` by field name
    with ``{first}``/``{second}`` standing for the line ids."""
    first, second = (line.id for line in return_.request.lines)
    form = {"action": "receive"}
    for line in (first, second):
        form |= {f"condition-{line}": "ok", f"quantity-{line}": "1"}
    for name, value in choices.items():
        form[name.format(first=first, second=second)] = value
    return client.post(
        f"/admin/returns/{return_.id}/act", data=form, follow_redirects=True
    ).get_data(as_text=True)


def test_each_item_gets_its_disposition_with_a_default_by_condition(logged_in, shipment):
    first, second = shipment.request.lines
    receive(
        logged_in,
        shipment,
        **{
            "condition-{second}": "damaged",
            "disposition-{second}": "dispose",
            "disposition-note-{second}": "Torn seam, beyond repair",
        },
    )
    db.session.refresh(first)
    db.session.refresh(second)

    assert (first.disposition, first.disposition_note) == ("restock", None)
    assert (second.disposition, second.disposition_note) == ("dispose", "Torn seam, beyond repair")
    page = logged_in.get(f"/admin/returns/{shipment.id}").get_data(as_text=True)
    assert "Back in stock" in page
    assert "Dispose of: Torn seam, beyond repair" in page
    note = db.session.query(AuditEvent).filter_by(action="received").one().note
    assert "Dispose of (Torn seam, beyond repair)" in note


def test_a_damaged_item_is_refurbished_unless_the_agent_says_otherwise(logged_in, shipment):
    _first, second = shipment.request.lines
    receive(logged_in, shipment, **{"condition-{second}": "damaged"})
    db.session.refresh(second)

    assert second.disposition == "refurbish"


def test_disposing_without_a_reason_is_refused_and_nothing_is_received(logged_in, shipment):
    answer = receive(logged_in, shipment, **{"disposition-{first}": "dispose"})
    db.session.refresh(shipment)

    assert "Say why an item is disposed of." in answer
    assert shipment.status == "delivered"


def test_the_received_items_export_lists_each_item_with_its_words(logged_in, shipment, shop):
    other_shop = make_shop("other", "Other", **RETURN_ADDRESS)
    other_agent = make_user("agent@other.example", other_shop)
    other = create_label(approved_request(other_shop, other_agent))
    workflow.receive(other, other_agent, {line.id: ("ok", 1) for line in other.request.lines})
    db.session.commit()
    receive(
        logged_in,
        shipment,
        **{"disposition-{second}": "dispose", "disposition-note-{second}": "Stained"},
    )

    answer = logged_in.get("/admin/returns/received-items/csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))

    assert answer.headers["Content-Disposition"].startswith('attachment; filename="received-items')
    assert [row["Return"] for row in rows] == [shipment.number, shipment.number]
    assert [row["What becomes of it"] for row in rows] == ["Back in stock", "Dispose of"]
    assert rows[1]["Why"] == "Stained" and rows[1]["Condition"] == "OK"


def test_the_dashboard_counts_what_became_of_the_items(logged_in, shipment):
    receive(
        logged_in,
        shipment,
        **{"disposition-{second}": "dispose", "disposition-note-{second}": "Stained"},
    )

    page = logged_in.get("/admin/").get_data(as_text=True)

    assert 'id="dispositions-table"' in page
    assert '<tr data-disposition="restock"><th scope="row">Back in stock</th><td>1</td>' in page
    assert '<tr data-disposition="dispose"><th scope="row">Dispose of</th><td>1</td>' in page
    assert "Disposed of: Stained" in page


def test_the_inspection_speaks_dutch(client, auth, shipment, agent):
    agent.language = "nl"
    db.session.commit()
    auth.login(agent.email)

    page = client.get(f"/admin/returns/{shipment.id}?lang=nl").get_data(as_text=True)

    assert "Wat ermee gebeurt" in page
    assert "Terug op voorraad" in page and "Afvoeren" in page


def test_the_api_takes_the_disposition_with_the_received_event(client, shop, shipment):
    key = make_key(shop)
    db.session.commit()
    first, second = (line.order_line_id for line in shipment.request.lines)
    events = f"/api/v1/returns/{shipment.number}/events"
    lines = [
        {"order_line_id": first, "condition": "ok", "received_quantity": 1},
        {"order_line_id": second, "condition": "damaged", "received_quantity": 1},
    ]

    refused = client.post(
        events,
        json={"event": "received", "lines": [lines[0], lines[1] | {"disposition": "dispose"}]},
        headers=bearer(key),
    )
    taken = client.post(
        events,
        json={
            "event": "received",
            "lines": [lines[0], lines[1] | {"disposition": "dispose", "disposition_note": "Moth"}],
        },
        headers=bearer(key),
    )
    shown = client.get(
        f"/api/v1/return-requests/{shipment.request.number}", headers=bearer(key)
    ).json

    assert refused.status_code == 409 and "Say why" in refused.json["detail"]
    assert taken.status_code == 200, taken.json
    assert [(line["disposition"], line["disposition_note"]) for line in shown["lines"]] == [
        ("restock", None),
        ("dispose", "Moth"),
    ]
