"""Customer data (GDPR articles 15 and 20): a shop admin or support finds everything that
names a customer and downloads it as one ZIP; nothing of another customer or shop is in it,
and the export is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key
from customer_helpers import (
    ANSWER,
    EMAIL,
    NAME,
    NOTE,
    PHOTO_NAME,
    REPLY,
    customer_story,
    opened_zip,
    other_customer,
)
from extensions import db
from factories import RETURN_ADDRESS
from harness import visible
from models import AuditEvent
from portal_helpers import jpeg_bytes

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

PAGE = "/admin/customer-data/"


@pytest.fixture
def story(shop_staff):
    """The customer's history in the demo shop, and another customer beside her."""
    customer = customer_story(shop_staff.shop, shop_staff.agent)
    other_customer(shop_staff.shop, shop_staff.agent)
    return customer


def test_admin_finds_every_kind_of_row_naming_the_customer(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    page = visible(client.post(PAGE, data={"query": EMAIL.upper()}).get_data(as_text=True))
    for number in story.order_numbers + story.request_numbers + story.return_numbers:
        assert number in page
    assert NAME in page and REPLY in page
    assert PHOTO_NAME in page
    assert "Mila" not in page and "DW-6001" not in page


def test_search_by_order_number_finds_the_customer_of_that_order(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    page = visible(client.post(PAGE, data={"query": "#DW-5001"}).get_data(as_text=True))
    assert EMAIL.lower() in page
    assert all(number in page for number in story.request_numbers)


def test_export_holds_exactly_the_customers_data_and_files(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    response = client.post(PAGE + "export", data={"email": EMAIL})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "@" not in response.headers["Content-Disposition"]
    document, files = opened_zip(response.data)

    assert document["schema_version"] == 1
    assert document["email"] == EMAIL.lower()
    assert [o["number"] for o in document["orders"]] == story.order_numbers
    assert document["orders"][0]["customer_name"] == NAME
    assert [r["number"] for r in document["requests"]] == story.request_numbers
    first = document["requests"][0]
    assert first["answers"] == {"packaging": ANSWER}
    bodies = [m["body"] for m in first["messages"]]
    assert REPLY in bodies and NOTE in bodies
    assert [r["number"] for r in first["returns"]] == story.return_numbers
    assert first["returns"][0]["refund_cents"] == story.refunds[story.return_numbers[0]]
    assert first["lines"][0]["photos"] and first["lines"][0]["photos"][0] in files

    kinds = sorted(f["kind"] for f in document["files"])
    assert kinds == ["label", "message", "photo", "photo"]
    assert sorted(files) == sorted(f["path"] for f in document["files"])
    photo = next(f["path"] for f in document["files"] if f["original_name"] == PHOTO_NAME)
    assert files[photo] == jpeg_bytes()
    label = next(f["path"] for f in document["files"] if f["kind"] == "label")
    assert label.startswith("labels/") and files[label].startswith(b"%PDF")

    text = json.dumps(document, ensure_ascii=False)
    assert "Mila" not in text and "mila@example.nl" not in text and "DW-6001" not in text
    assert "mila.jpg" not in " ".join(files)


def test_the_export_is_audited_with_who_and_which_address(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    client.post(PAGE + "export", data={"email": EMAIL})
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "customer_data_exported")
    )
    assert event.actor_id == shop_staff.admin.id
    assert event.shop_id == shop_staff.shop.id
    assert event.note == EMAIL.lower()
    assert event.created_at is not None
    page = visible(client.get(PAGE).get_data(as_text=True))
    assert f"Anna Admin exported a customer's data: {EMAIL.lower()}" in page


def test_agents_do_not_reach_customer_data(client, auth, shop_staff, story):
    auth.login("agent@example.com")
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE + "export", data={"email": EMAIL}).status_code == 403


def test_support_finds_the_customer_too(client, auth, shop_staff, story):
    auth.login("support@example.com")
    page = visible(client.post(PAGE, data={"query": EMAIL}).get_data(as_text=True))
    assert all(number in page for number in story.request_numbers)


def test_the_page_reads_in_dutch(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    client.post("/language", data={"lang": "nl"})
    headers = {"Accept-Language": "nl"}
    page = visible(client.post(PAGE, data={"query": EMAIL}, headers=headers).get_data(True))
    assert "Klantgegevens" in page and "Exporteren (ZIP)" in page and "Wissen…" in page


def test_every_form_needs_its_csrf_token(app, client, auth, shop_staff, story):
    auth.login("admin@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(PAGE + "export", data={"email": EMAIL}).status_code == 400
    assert client.post(PAGE + "erase/confirm", data={"email": EMAIL}).status_code == 400
    assert client.post(PAGE + "erase", data={"email": EMAIL}).status_code == 400


# --- two tenants -----------------------------------------------------------------------------


DEMO_CUSTOMER = "griet@demo.example.nl"


def test_a_fashion_admin_cannot_find_a_demo_customer(client, auth, tenants):
    auth.login("admin@fashion.example.com")
    page = visible(client.post(PAGE, data={"query": DEMO_CUSTOMER}).get_data(as_text=True))
    assert "Griet" not in page and "R-2026-00002" not in page and "DW-7001" not in page
    page = visible(client.post(PAGE, data={"query": "DW-7001"}).get_data(as_text=True))
    assert DEMO_CUSTOMER not in page and "Griet" not in page


def test_a_fashion_admin_cannot_export_a_demo_customer(client, auth, tenants):
    auth.login("admin@fashion.example.com")
    response = client.post(PAGE + "export", data={"email": DEMO_CUSTOMER})
    document, files = opened_zip(response.data)
    assert document["orders"] == [] and document["requests"] == [] and files == {}
    assert "Griet" not in json.dumps(document, ensure_ascii=False)


def test_the_api_exports_the_customer_of_the_keys_shop_only(client, tenants):
    fashion_key, demo_key = make_key(tenants["fashion"].shop), make_key(tenants["demo"].shop)
    db.session.commit()
    path = f"/api/v1/customers/{DEMO_CUSTOMER}/data"
    demo = client.get(path, headers=bearer(demo_key)).get_json()
    assert [r["number"] for r in demo["requests"]] == ["R-2026-00002"]
    assert demo["orders"][0]["customer_name"] == "Griet van Demohuizen"
    fashion = client.get(path, headers=bearer(fashion_key)).get_json()
    assert fashion["orders"] == [] and fashion["requests"] == [] and fashion["emails"] == []
    assert "Griet" not in json.dumps(fashion)
