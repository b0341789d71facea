"""What was found and what is paid, per line: at receipt staff choose a full refund, a partial
amount or none for each item, with a note the customer reads; by default an item found OK is
refunded in full, and one found damaged only when the customer's own reason said damaged.

The customer's status page, the "we received your return" email, the staff's return page and
the API all show the line's amount and the note; the total follows the choices.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_reasons
from harness import visible
from models import AuditEvent, ReturnRequestLine
from return_flow import approved_request, create_label, emails_to

# The labels go back to the shop's return address; the shop's fee is the default €5.95.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

NOTE = "A stain on the collar that does not wash out."
# The receive form's fields for €20.00 of the blouse, with the note.
BLOUSE_PARTLY_REFUNDED = {
    "refund-{blouse}": "partial",
    "refund-amount-{blouse}": "20,00",
    "refund-note-{blouse}": NOTE,
}


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


@pytest.fixture
def shipment(shop, agent):
    """A delivered return: a €49.95 blouse the customer reported damaged, and a €59.95
    jumper returned because it is too big."""
    reasons = make_reasons(shop)
    request = approved_request(
        shop,
        agent,
        lines=[
            {"order_line": 0, "quantity": 1, "reason": reasons["damaged"], "comment": "Torn"},
            {"order_line": 1, "quantity": 1, "reason": reasons["too_big"]},
        ],
    )
    return_ = create_label(request)
    workflow.mark_delivered(return_, agent)
    db.session.commit()
    return return_


def receive(client, return_, **fields: str) -> str:
    """Post the receive form: the blouse found damaged, the jumper OK, both complete, plus
    ``fields`` by name with ``{blouse}``/``{jumper}`` standing for the line ids."""
    blouse, jumper = (line.id for line in return_.request.lines)
    form = {
        "action": "receive",
        f"condition-{blouse}": "damaged",
        f"quantity-{blouse}": "1",
        f"condition-{jumper}": "ok",
        f"quantity-{jumper}": "1",
    }
    for name, value in fields.items():
        form[name.format(blouse=blouse, jumper=jumper)] = value
    answer = client.post(f"/admin/returns/{return_.id}/act", data=form, follow_redirects=True)
    return visible(answer.get_data(as_text=True))


def status_page(client, return_) -> str:
    request = return_.request
    answer = client.get(f"/returns/{request.shop.slug}/status/{request.public_token}?lang=en")
    assert answer.status_code == 200
    return visible(answer.get_data(as_text=True))


def received_email(return_) -> tuple[str, str]:
    [mail] = emails_to(return_.request.customer_email, "return_received")
    return mail.body_text, visible(mail.body_html)


def test_a_damaged_item_the_customer_reported_damaged_is_refunded_in_full(staff, shipment):
    receive(staff, shipment)

    page = status_page(staff, shipment)
    text, _html = received_email(shipment)

    # 49.95 + 59.95 - 5.95 fee: the damage was what the customer returned it for.
    assert "Expected refund: €103.95" in page
    assert "Linnen blouse (M): 1/1, €49.95" in text
    assert "€103.95" in text
    db.session.expire_all()
    assert shipment.request.lines[0].refund_choice == "full"


def test_a_damaged_item_returned_for_another_reason_pays_nothing_by_default(staff, shop, agent):
    reasons = make_reasons(shop)
    request = approved_request(
        shop, agent, lines=[{"order_line": 0, "quantity": 1, "reason": reasons["too_big"]}]
    )
    return_ = create_label(request)
    db.session.commit()
    line = request.lines[0]

    staff.post(
        f"/admin/returns/{return_.id}/act",
        data={"action": "receive", f"condition-{line.id}": "damaged", f"quantity-{line.id}": "1"},
    )

    page = status_page(staff, return_)
    assert "Received damaged" in page
    assert "Expected refund: €0.00" in page
    db.session.refresh(line)
    assert line.refund_choice == "none"


def test_a_partial_refund_with_a_note_reaches_the_customer_and_the_total(staff, shipment):
    receive(staff, shipment, **BLOUSE_PARTLY_REFUNDED)

    page = status_page(staff, shipment)
    text, markup = received_email(shipment)
    staff_page = visible(staff.get(f"/admin/returns/{shipment.id}").get_data(as_text=True))

    # 20.00 + 59.95 - 5.95 fee
    assert "Expected refund: €74.00" in page
    assert re.search(r"Linnen blouse \(M\) Received damaged " + re.escape(NOTE), page)
    assert "€20.00" in page
    assert f"Linnen blouse (M): 1/1, €20.00 (Received damaged): {NOTE}" in text
    assert NOTE in markup and "€20.00" in markup and "€74.00" in markup
    assert f"Partial refund €20.00 To the customer: {NOTE}" in staff_page
    assert "Refund total €74.00" in staff_page


def test_a_dutch_customer_reads_the_partial_refund_in_dutch(staff, shop, agent):
    reasons = make_reasons(shop)
    request = approved_request(
        shop,
        agent,
        language="nl",
        lines=[{"order_line": 0, "quantity": 1, "reason": reasons["too_big"]}],
    )
    return_ = create_label(request)
    db.session.commit()
    line = request.lines[0]

    staff.post(
        f"/admin/returns/{return_.id}/act",
        data={
            "action": "receive",
            f"condition-{line.id}": "ok",
            f"quantity-{line.id}": "1",
            f"refund-{line.id}": "partial",
            f"refund-amount-{line.id}": "30",
            f"refund-note-{line.id}": "Het label ontbrak.",
        },
    )

    text, _html = received_email(return_)
    assert (
        "Linnen blouse (M): 1/1, €\xa030,00 (Gedeeltelijk terugbetaald): Het label ontbrak." in text
    )


def test_the_history_says_what_is_paid_for_each_item(staff, shipment):
    receive(
        staff,
        shipment,
        **{
            "refund-{blouse}": "partial",
            "refund-amount-{blouse}": "12.5",
            "refund-note-{blouse}": NOTE,
        },
    )

    note = db.session.query(AuditEvent).filter_by(action="received").one().note

    assert f"Linnen blouse: Damaged × 1, Refurbish, Partial refund €12.50 (“{NOTE}”)" in note
    assert "Wollen trui: OK × 1, Back in stock, Full refund" in note


def test_no_refund_pays_nothing_and_tells_the_customer_why(staff, shipment):
    why = "The item was worn and washed."
    receive(staff, shipment, **{"refund-{jumper}": "none", "refund-note-{jumper}": why})

    page = status_page(staff, shipment)
    text, _html = received_email(shipment)

    # 49.95 (damaged, reported so) + 0 - 5.95 fee
    assert "Expected refund: €44.00" in page
    assert f"Wollen trui (M) Not refunded {why}" in page
    assert f"Wollen trui (M): 0/1, €0.00 (Not refunded): {why}" in text


def test_store_credit_is_the_total_of_the_choices(staff, shipment):
    receive(staff, shipment, **{"refund-{blouse}": "partial", "refund-amount-{blouse}": "10"})

    staff.post(
        f"/admin/returns/{shipment.id}/act", data={"action": "resolve", "kind": "store_credit"}
    )

    db.session.refresh(shipment)
    assert shipment.refund_cents == 1000 + 5995 - 595
    assert "Expected store credit: €64.00" in status_page(staff, shipment)
    # No connector: issued by hand, and told as issued once staff mark it so.
    staff.post(f"/admin/returns/{shipment.id}/act", data={"action": "mark_refunded"})
    assert "We issued you store credit of €64.00" in status_page(staff, shipment)


def test_an_exchange_leaves_out_an_item_with_no_refund(staff, shipment):
    receive(staff, shipment, **{"refund-{jumper}": "none", "refund-note-{jumper}": "Worn"})

    staff.post(f"/admin/returns/{shipment.id}/act", data={"action": "resolve", "kind": "exchange"})

    page = status_page(staff, shipment)
    assert "We will send you new items in exchange for 1 × Linnen blouse (M)." in page
    assert "Worn" in page


def test_the_received_items_export_says_what_is_paid_for_each_item(staff, shipment):
    receive(staff, shipment, **BLOUSE_PARTLY_REFUNDED)

    answer = staff.get("/admin/returns/received-items/csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(answer.lstrip("\ufeff"))))

    assert [
        (row["Condition"], row["What is paid"], row["Partial amount"], row["Note to the customer"])
        for row in rows
    ] == [("Damaged", "Partial refund", "20.00", NOTE), ("OK", "Full refund", "", "")]


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        pytest.param("0", "must be more than €0.00 and at most €49.95", id="nothing"),
        pytest.param("50,00", "must be more than €0.00 and at most €49.95", id="more-than-paid"),
        pytest.param("", "must be more than €0.00 and at most €49.95", id="no-amount"),
        pytest.param("twenty", "as an amount, such as 12.50", id="not-an-amount"),
    ],
)
def test_a_bad_partial_amount_is_refused_and_nothing_is_received(staff, shipment, amount, says):
    answer = receive(
        staff, shipment, **{"refund-{blouse}": "partial", "refund-amount-{blouse}": amount}
    )

    db.session.refresh(shipment)
    blouse = db.session.get(ReturnRequestLine, shipment.request.lines[0].id)
    assert says in answer
    assert shipment.status == "delivered"
    assert (blouse.condition, blouse.refund_choice) == (None, None)
    assert not emails_to(shipment.request.customer_email, "return_received")


def test_an_amount_without_choosing_partial_is_refused(staff, shipment):
    answer = receive(staff, shipment, **{"refund-amount-{jumper}": "30"})

    db.session.refresh(shipment)
    assert "You typed an amount for Wollen trui: choose a partial refund to pay it." in answer
    assert shipment.status == "delivered"


def test_the_receive_form_labels_each_items_refund_and_its_default(staff, shipment):
    page = staff.get(f"/admin/returns/{shipment.id}").get_data(as_text=True)
    blouse, jumper = (line.id for line in shipment.request.lines)

    assert f'<label class="sr-only" for="refund-{blouse}">Refund for Linnen blouse</label>' in page
    assert f'for="refund-amount-{blouse}">Partial refund of Linnen blouse (amount)' in page
    assert f'for="refund-note-{jumper}">Note to the customer about Wollen trui' in page
    assert "If damaged: Full refund (the customer's reason: Damaged)" in visible(page)
    assert "If damaged: No refund (the customer's reason: Too big)" in visible(page)


def events_of(shipment) -> str:
    return f"/api/v1/returns/{shipment.number}/events"


def api_lines(shipment, **blouse_fields) -> list[dict]:
    blouse, jumper = (line.order_line_id for line in shipment.request.lines)
    return [
        {"order_line_id": blouse, "condition": "damaged", "received_quantity": 1, **blouse_fields},
        {"order_line_id": jumper, "condition": "ok", "received_quantity": 1},
    ]


def test_the_api_takes_a_partial_refund_and_its_note_per_line(client, shop, shipment):
    key = make_key(shop)
    db.session.commit()

    taken = client.post(
        events_of(shipment),
        json={
            "event": "received",
            "lines": api_lines(
                shipment, refund_choice="partial", refund_partial_cents=2000, refund_note=NOTE
            ),
        },
        headers=bearer(key),
    )
    shown = client.get(
        f"/api/v1/return-requests/{shipment.request.number}", headers=bearer(key)
    ).json

    assert taken.status_code == 200, taken.json
    assert [
        (line["refund_choice"], line["refund_partial_cents"], line["refund_note"])
        for line in shown["lines"]
    ] == [("partial", 2000, NOTE), ("full", None, None)]
    assert "Expected refund: €74.00" in status_page(client, shipment)


def test_the_api_refunds_a_reported_damage_in_full_by_default(client, shop, shipment):
    key = make_key(shop)
    db.session.commit()

    taken = client.post(
        events_of(shipment),
        json={"event": "received", "lines": api_lines(shipment)},
        headers=bearer(key),
    )

    assert taken.status_code == 200, taken.json
    assert "Expected refund: €103.95" in status_page(client, shipment)


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        pytest.param(
            {"refund_choice": "partial", "refund_partial_cents": 4996},
            "lines.0.refund_partial_cents",
            409,
            id="more-than-paid",
        ),
        pytest.param(
            {"refund_choice": "partial"}, "lines.0.refund_partial_cents", 409, id="no-amount"
        ),
        pytest.param(
            {"refund_choice": "partial", "refund_partial_cents": 0},
            "lines.0.refund_partial_cents",
            422,
            id="nothing",
        ),
        pytest.param({"refund_choice": "half"}, "lines.0.refund_choice", 422, id="no-such-choice"),
    ],
)
def test_the_api_names_the_field_of_a_bad_refund_and_stores_nothing(
    client, shop, shipment, fields, field, status
):
    key = make_key(shop)
    db.session.commit()

    refused = client.post(
        events_of(shipment),
        json={"event": "received", "lines": api_lines(shipment, **fields)},
        headers=bearer(key),
    )

    db.session.refresh(shipment)
    assert refused.status_code == status, refused.json
    assert field in [error["field"] for error in refused.json["errors"]]
    assert shipment.status == "delivered"
    assert db.session.get(ReturnRequestLine, shipment.request.lines[0].id).condition is None


def test_the_openapi_document_describes_the_refund_per_line(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]

    taken = schemas["InspectionIn"]["properties"]
    shown = schemas["RequestLineOut"]["properties"]
    assert {"refund_choice", "refund_partial_cents", "refund_note"} <= set(taken)
    assert {"refund_choice", "refund_partial_cents", "refund_note"} <= set(shown)
    assert "damaged" in taken["refund_choice"]["description"]
