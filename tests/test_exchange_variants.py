"""In an exchange the customer picks the size or colour from the product's variants, when the
order data carries them (import or API); typing stays the fallback.

Before, every exchange wish was typed ("Maat L"), so the shop read whatever the customer wrote.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key, order_body
from extensions import db
from harness import visible
from models import OrderLine, ReturnRequest
from portal_helpers import choose, give_details, lookup, submission_key, submit
from services import order_import


@pytest.fixture
def blouse(order):
    """The order's blouse (size M) comes in S, M and L."""
    line = order.lines[0]
    line.variant_options = ["S", "M", "L"]
    db.session.commit()
    return line


def up_to_resolution(client, line, reasons) -> None:
    assert lookup(client).status_code == 302
    assert choose(client, {line.id: 1}).status_code == 302
    assert give_details(client, [line.id], reasons["too_big"]).status_code == 302


def pick(client, line, variant: str, note: str = ""):
    return client.post(
        "/returns/demo/resolution",
        data={"resolution": "exchange", f"exchange-{line.id}": variant, "exchange_note": note},
    )


def test_the_customer_picks_a_size_and_the_shop_reads_it(client, blouse, reasons):
    up_to_resolution(client, blouse, reasons)
    form = client.get("/returns/demo/resolution").get_data(as_text=True)

    assert f'<select class="custom-select" id="exchange-{blouse.id}"' in form
    assert [f'<option value="{size}"' in form for size in "SML"] == [True] * 3
    assert pick(client, blouse, "L").status_code == 302
    review = visible(client.get("/returns/demo/review").get_data(as_text=True))
    submit(client, submission_key(client))

    stored = db.session.scalars(select(ReturnRequest)).one()
    assert stored.exchange_note == f"{blouse} → L"
    assert f"Omruilen: {blouse} → L" in review


def test_a_pick_and_own_words_go_together(client, blouse, reasons):
    up_to_resolution(client, blouse, reasons)

    pick(client, blouse, "S", note="Liefst in het blauw")
    submit(client, submission_key(client))

    stored = db.session.scalars(select(ReturnRequest)).one()
    assert stored.exchange_note == f"{blouse} → S; Liefst in het blauw"


def test_a_variant_that_is_not_offered_is_refused_beside_its_field(client, blouse, reasons):
    up_to_resolution(client, blouse, reasons)

    answer = pick(client, blouse, "XXL")
    english = client.post(
        "/returns/demo/resolution?lang=en",
        data={"resolution": "exchange", f"exchange-{blouse.id}": "XXL"},
    ).get_data(as_text=True)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'id="exchange-{blouse.id}-error"' in page
    assert "Kies een van de getoonde maten of kleuren." in page
    assert "Please choose one of the listed sizes or colours." in english


def test_without_a_pick_or_words_an_exchange_asks_what_is_wanted(client, blouse, reasons):
    up_to_resolution(client, blouse, reasons)

    page = pick(client, blouse, "").get_data(as_text=True)

    assert "Laat ons weten welke maat of kleur je wilt." in page


def test_without_variants_the_customer_types_the_wish(client, order, reasons):
    up_to_resolution(client, order.lines[0], reasons)

    form = client.get("/returns/demo/resolution").get_data(as_text=True)

    assert "<select" not in form
    assert "Bij ruilen: welke maat of kleur wil je?" in form


def test_variants_arrive_by_csv_import(shop):
    header = ",".join(order_import.CSV_COLUMNS)
    row = (
        "2001,2026-03-01,2026-03-03,Anna,anna@example.com,1234 AB,NL,nl,SHIRT,Shirt,M,1,29.95,"
        ",,,,S|M| L "
    )
    parsed = order_import.parse_csv(io.StringIO(f"{header}\n{row}\n", newline=""))
    assert parsed.errors == []
    order_import.upsert_orders(shop.id, parsed.orders)
    db.session.commit()

    line = db.session.scalars(select(OrderLine).where(OrderLine.sku == "SHIRT")).one()
    assert line.variant_options == ["S", "M", "L"]


def test_variants_arrive_by_the_api_and_are_shown_back(shop, client):
    key = make_key(shop)
    db.session.commit()
    body = order_body()
    body["lines"][0]["variant_options"] = ["S", "M", "L"]

    posted = client.post("/api/v1/orders", json=body, headers=bearer(key))
    shown = client.get("/api/v1/orders/1001", headers=bearer(key)).get_json()

    assert posted.status_code in (200, 201), posted.get_json()
    assert [line["variant_options"] for line in shown["lines"]] == [["S", "M", "L"], []]
