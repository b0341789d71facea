"""Product images next to each item in the portal: an ``image_url`` per order line arrives by
the CSV import and by the API, is shown back by the API, and the items step shows it; a line
without one gets a neutral placeholder; an address that is no http(s) URL is refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from api_helpers import bearer, make_key, order_body
from extensions import db
from models import OrderLine
from portal_helpers import lookup
from services import order_import

SHIRT = "https://cdn.example/shirt.jpg"
HEADER = ",".join(order_import.CSV_COLUMNS)


def csv_row(sku: str, image_url: str) -> str:
    return (
        f"2001,2026-03-01,{delivered_recently()},Anna,anna@example.com,1234 AB,NL,nl,"
        f"{sku},{sku.title()},M,1,29.95,,{image_url},,,,"
    )


def delivered_recently() -> str:
    return (datetime.now(UTC) - timedelta(days=2)).date().isoformat()


def items_step(client, number: str, secret: str = "anna@example.com") -> str:
    assert lookup(client, number=number, secret=secret).status_code == 302
    return client.get("/returns/demo/items").get_data(as_text=True)


def test_an_image_from_the_csv_import_is_shown_beside_its_item(client, shop):
    parsed = order_import.parse_csv(
        io.StringIO(f"{HEADER}\n{csv_row('SHIRT', SHIRT)}\n{csv_row('SOCKS', '')}\n", newline="")
    )
    assert parsed.errors == []
    order_import.upsert_orders(shop.id, parsed.orders)
    db.session.commit()

    lines = {line.sku: line for line in db.session.scalars(select(OrderLine))}
    assert (lines["SHIRT"].image_url, lines["SOCKS"].image_url) == (SHIRT, None)
    page = items_step(client, "2001")
    assert f'<img src="{SHIRT}" alt="" class="portal-thumb' in page
    assert page.count("portal-thumb-none") == 1


def test_an_image_that_is_no_web_address_is_refused_by_the_import(shop):
    parsed = order_import.parse_csv(
        io.StringIO(f"{HEADER}\n{csv_row('SHIRT', 'javascript:alert(1)')}\n", newline="")
    )
    assert parsed.errors and "image_url" in str(parsed.errors[0])


def test_an_image_posted_by_the_api_is_stored_shown_back_and_in_the_portal(client, shop):
    key = make_key(shop)
    db.session.commit()
    body = order_body("3001", delivered_at=delivered_recently() + "T12:00:00Z")
    body["lines"][0]["image_url"] = SHIRT

    posted = client.post("/api/v1/orders", json=body, headers=bearer(key))
    shown = client.get("/api/v1/orders/3001", headers=bearer(key)).get_json()

    assert posted.status_code in (200, 201), posted.get_json()
    assert [line["image_url"] for line in shown["lines"]] == [SHIRT, None]
    page = items_step(client, "3001")
    assert f'<img src="{SHIRT}" alt="" class="portal-thumb' in page
    assert page.count("portal-thumb-none") == 1


def test_the_api_refuses_an_image_that_is_no_web_address(client, shop):
    key = make_key(shop)
    db.session.commit()
    body = order_body("3002")
    body["lines"][0]["image_url"] = "data:image/png;base64,AAAA"

    refused = client.post("/api/v1/orders", json=body, headers=bearer(key))

    assert refused.status_code == 422
    assert "image_url" in str(refused.get_json())
