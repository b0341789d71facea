"""REST API v1: keys, tenancy, validation problems, pagination and idempotency."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api_helpers import (
    API_ORDER,
    bearer,
    delivered_order,
    make_key,
    order_body,
    post_request,
    request_body,
)
from app import create_app
from domain import workflow
from extensions import db
from factories import make_order, make_request, make_return, make_shop, make_user
from harness import app_config, empty_all_tables
from models import (
    ApiKey,
    Attachment,
    AuditEvent,
    Order,
    OutboundEmail,
    Return,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
)
from portal_helpers import jpeg_bytes
from services import conversation

# --- Keys ---------------------------------------------------------------------------------


def test_call_without_key_is_refused_with_a_problem_document(client):
    response = client.get("/api/v1/return-requests")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["status"] == 401


def test_revoked_or_unknown_key_is_refused(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.execute(db.update(ApiKey).values(revoked_at=datetime.now(UTC)))
    db.session.commit()
    assert client.get("/api/v1/returns", headers=bearer(key)).status_code == 401
    assert client.get("/api/v1/returns", headers=bearer("rd_made-up")).status_code == 401


def test_key_records_when_it_was_last_used(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    assert client.get("/api/v1/returns", headers=bearer(key)).status_code == 200
    assert db.session.scalar(select(ApiKey.last_used_at)) is not None


def test_only_the_hash_of_a_key_is_stored(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    stored = db.session.scalar(select(ApiKey))
    assert key not in (stored.key_hash, stored.prefix)
    assert key.startswith(stored.prefix)


# --- Orders -------------------------------------------------------------------------------


def test_posted_order_is_created_then_updated_by_its_number(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()

    created = client.post("/api/v1/orders", json=order_body(), headers=bearer(key))
    assert created.status_code == 201
    assert [line["sku"] for line in created.json["lines"]] == ["SHIRT", "SOCKS"]
    assert created.json["delivered_at"].startswith("2026-03-03T12:00:00")

    changed = order_body(
        delivered_at="2026-03-04T09:00:00Z",
        lines=[{"sku": "SHIRT", "product_name": "Shirt", "variant": "M", "unit_price_cents": 2495}],
    )
    updated = client.post("/api/v1/orders", json=changed, headers=bearer(key))
    assert updated.status_code == 200
    assert [(line["sku"], line["unit_price_cents"]) for line in updated.json["lines"]] == [
        ("SHIRT", 2495)
    ]
    assert updated.json["lines"][0]["id"] == created.json["lines"][0]["id"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1

    fetched = client.get("/api/v1/orders/1001", headers=bearer(key))
    assert fetched.status_code == 200
    assert fetched.json["delivered_at"].startswith("2026-03-04T09:00:00")


def test_order_update_keeps_a_line_that_a_request_refers_to(client):
    shop = make_shop()
    key = make_key(shop)
    order = make_order(shop, **API_ORDER)
    req = make_request(shop, order)
    db.session.commit()
    body = order_body(lines=[{"sku": "HAT", "product_name": "Hat", "unit_price_cents": 1000}])
    assert client.post("/api/v1/orders", json=body, headers=bearer(key)).status_code == 200
    skus = {line.sku for line in db.session.get(Order, order.id).lines}
    assert skus == {"SHIRT", "HAT"}
    assert db.session.get(ReturnRequest, req.id).lines[0].order_line.sku == "SHIRT"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"customer_language": "fr"}, "customer_language"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"lines": []}, "lines"),
        (
            {"lines": [{"sku": "X", "product_name": "X", "quantity": 0, "unit_price_cents": 1}]},
            "lines.0.quantity",
        ),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_order_is_answered_with_a_problem_naming_the_field(client, change, field):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    response = client.post("/api/v1/orders", json=order_body(**change), headers=bearer(key))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in [error["field"] for error in response.json["errors"]]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_missing_field_is_named_in_the_problem(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    body = order_body()
    del body["customer_name"]
    response = client.post("/api/v1/orders", json=body, headers=bearer(key))
    assert response.json["errors"] == [
        {"field": "customer_name", "pointer": "/customer_name", "message": "Field required"}
    ]


@pytest.mark.parametrize(
    "body", ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000]
)
def test_deeply_nested_json_is_a_bad_request_not_a_crash(app, client, body):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production: a crash is a 500
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    headers = bearer(key) | {"Content-Type": "application/json"}
    response = client.post("/api/v1/orders", data=body, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "nested" in response.json["detail"]


def test_body_that_is_not_json_is_a_problem(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    broken = client.post(
        "/api/v1/orders", data="{", content_type="application/json", headers=bearer(key)
    )
    assert (broken.status_code, broken.mimetype) == (400, "application/problem+json")
    form = client.post("/api/v1/orders", data={"number": "1"}, headers=bearer(key))
    assert (form.status_code, form.mimetype) == (415, "application/problem+json")


# --- Tenancy ------------------------------------------------------------------------------


def test_key_of_one_shop_never_sees_another_shops_data(client):
    shop_a = make_shop("a", "Shop A")
    shop_b = make_shop("b", "Shop B")
    req = make_request(shop_a, make_order(shop_a, **API_ORDER | {"number": "A-1"}))
    make_return(req, "RT-A-1", "in_transit")
    key_b = make_key(shop_b)
    db.session.commit()

    headers = bearer(key_b)
    assert client.get("/api/v1/orders/A-1", headers=headers).status_code == 404
    assert client.get(f"/api/v1/return-requests/{req.number}", headers=headers).status_code == 404
    assert client.get("/api/v1/returns/RT-A-1", headers=headers).status_code == 404
    assert client.get("/api/v1/return-requests", headers=headers).json["data"] == []
    assert client.get("/api/v1/returns", headers=headers).json["data"] == []

    same_number = client.post("/api/v1/orders", json=order_body("A-1"), headers=headers)
    assert same_number.status_code == 201
    order_a = db.session.scalar(select(Order).where(Order.shop_id == shop_a.id))
    assert [line.sku for line in order_a.lines] == ["SHIRT"]


def test_key_sees_its_own_request_and_return(client):
    shop = make_shop()
    req = make_request(shop, make_order(shop, **API_ORDER))
    make_return(req, "RT-1", "in_transit")
    key = make_key(shop)
    db.session.commit()
    got = client.get(f"/api/v1/return-requests/{req.number}", headers=bearer(key))
    assert got.status_code == 200
    assert got.json["status"] == "new"
    assert got.json["returns"] == ["RT-1"]
    assert got.json["lines"][0]["sku"] == "SHIRT"
    shipment = client.get("/api/v1/returns/RT-1", headers=bearer(key))
    assert shipment.json["request_number"] == req.number
    assert shipment.json["status"] == "in_transit"


# --- Lists --------------------------------------------------------------------------------


def follow_pages(client, url: str, headers: dict, between=None) -> list[str]:
    numbers = []
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.json
        numbers += [item["number"] for item in page.json["data"]]
        url = page.json["next"]
        if between:
            between()
            between = None
    return numbers


def test_request_pages_stay_stable_while_new_requests_arrive(client):
    shop = make_shop()
    order = make_order(shop, **API_ORDER)
    existing = [make_request(shop, order).number for _ in range(5)]
    key = make_key(shop)
    db.session.commit()
    arrived = []

    def new_request_arrives():
        arrived.append(make_request(shop, order).number)
        db.session.commit()

    numbers = follow_pages(
        client, "/api/v1/return-requests?limit=2", bearer(key), between=new_request_arrives
    )
    assert numbers == existing + arrived


def test_request_list_filters_by_status_and_updated_since(client):
    shop = make_shop()
    order = make_order(shop, **API_ORDER)
    old = make_request(shop, order, status="approved")
    old.updated_at = datetime.now(UTC) - timedelta(days=2)
    fresh_new = make_request(shop, order, status="new")
    fresh_approved = make_request(shop, order, status="approved")
    key = make_key(shop)
    db.session.commit()

    approved = client.get("/api/v1/return-requests?status=approved", headers=bearer(key))
    assert [r["number"] for r in approved.json["data"]] == [old.number, fresh_approved.number]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = client.get(
        "/api/v1/return-requests", query_string={"updated_since": since}, headers=bearer(key)
    )
    assert [r["number"] for r in recent.json["data"]] == [fresh_new.number, fresh_approved.number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("updated_since=soon", "updated_since"),
        # Valid as written, but before the year 1 in UTC: refused, not a 500.
        ("updated_since=0001-01-01T00:08:48%2B00:11", "updated_since"),
        ("cursor=!!", "cursor"),
        ("colour=red", "colour"),
    ],
)
def test_bad_list_query_is_a_problem_naming_the_parameter(client, query, field):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    response = client.get(f"/api/v1/return-requests?{query}", headers=bearer(key))
    assert response.status_code == 422
    assert [error["field"] for error in response.json["errors"]] == [field]


def test_return_list_filters_by_status(client):
    shop = make_shop()
    req = make_request(shop, make_order(shop, **API_ORDER))
    make_return(req, "RT-1", status="in_transit")
    make_return(req, "RT-2", status="received")
    key = make_key(shop)
    db.session.commit()
    response = client.get("/api/v1/returns?status=received", headers=bearer(key))
    assert [r["number"] for r in response.json["data"]] == ["RT-2"]


# --- Idempotency --------------------------------------------------------------------------


def test_retried_post_with_the_same_idempotency_key_replays_the_first_response(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    headers = bearer(key) | {"Idempotency-Key": "sync-42"}

    first = client.post("/api/v1/orders", json=order_body(), headers=headers)
    retry = client.post("/api/v1/orders", json=order_body(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_retry_with_the_same_body_written_differently_is_still_a_replay(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    headers = bearer(key) | {"Idempotency-Key": "sync-43", "Content-Type": "application/json"}
    body = order_body()
    client.post("/api/v1/orders", data=json.dumps(body), headers=headers)
    reordered = json.dumps(dict(reversed(body.items())), indent=2)
    retry = client.post("/api/v1/orders", data=reordered, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_idempotency_key_reused_for_another_order_is_refused(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    headers = bearer(key) | {"Idempotency-Key": "sync-44"}
    client.post("/api/v1/orders", json=order_body(), headers=headers)
    other = client.post(
        "/api/v1/orders", json=order_body(customer_name="Someone Else"), headers=headers
    )
    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert db.session.scalar(select(Order)).customer_name == "Anna de Vries"


def test_idempotency_keys_are_per_shop(client):
    shop_a, shop_b = make_shop("a", "A"), make_shop("b", "B")
    key_a, key_b = make_key(shop_a), make_key(shop_b)
    db.session.commit()
    same = {"Idempotency-Key": "k1"}
    a = client.post("/api/v1/orders", json=order_body("A"), headers=bearer(key_a) | same)
    b = client.post("/api/v1/orders", json=order_body("B"), headers=bearer(key_b) | same)
    assert (a.json["number"], b.json["number"]) == ("A", "B")


def test_failed_post_is_not_remembered_under_its_idempotency_key(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    headers = bearer(key) | {"Idempotency-Key": "k2"}
    bad = client.post("/api/v1/orders", json=order_body(customer_email="x"), headers=headers)
    good = client.post("/api/v1/orders", json=order_body(), headers=headers)
    assert (bad.status_code, good.status_code) == (422, 201)


# --- Rate limits --------------------------------------------------------------------------


def test_each_key_is_rate_limited_with_429_and_retry_after(app, client):
    app.config["API_RATE_LIMIT_PER_KEY"] = "3 per minute"
    shop = make_shop()
    busy, quiet = make_key(shop, "busy"), make_key(shop, "quiet")
    db.session.commit()

    answers = [client.get("/api/v1/returns", headers=bearer(busy)) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.mimetype == "application/problem+json"
    assert limited.json["status"] == 429
    assert "3 per 1 minute" in limited.json["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/returns", headers=bearer(quiet)).status_code == 200


def test_calls_without_a_valid_key_are_rate_limited_per_address(app, client):
    app.config["API_RATE_LIMIT_PER_ADDRESS"] = "2 per minute"
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()

    guesses = [client.get("/api/v1/returns", headers=bearer(f"rd_guess-{n}")) for n in range(3)]

    assert [g.status_code for g in guesses] == [401, 401, 429]
    assert guesses[-1].mimetype == "application/problem+json"
    assert int(guesses[-1].headers["Retry-After"]) >= 1
    assert client.get("/api/v1/returns", headers=bearer(key)).status_code == 200


def test_openapi_document_promises_429_with_retry_after_on_every_operation(client):
    document = client.get("/api/v1/openapi.json").json
    for path in document["paths"].values():
        for operation in path.values():
            limited = operation["responses"]["429"]
            assert "application/problem+json" in limited["content"]
            assert limited["headers"]["Retry-After"]["schema"]["type"] == "integer"


# --- Documentation ------------------------------------------------------------------------


def test_openapi_document_describes_every_route_with_security_and_problems(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    post_orders = document["paths"]["/api/v1/orders"]["post"]
    assert post_orders["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderData"
    }
    assert "application/problem+json" in post_orders["responses"]["422"]["content"]
    assert "Idempotency-Key" in [p["name"] for p in post_orders["parameters"]]
    listing = document["paths"]["/api/v1/return-requests"]["get"]
    assert {"status", "updated_since", "cursor", "limit"} <= {
        p["name"] for p in listing["parameters"]
    }
    for ref in ("OrderData", "OrderOut", "RequestPage", "ReturnOut", "Problem"):
        assert ref in document["components"]["schemas"]


def test_docs_page_lists_operations_and_schemas_without_outside_scripts(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "GET /api/v1/return-requests/{number}" in html
    assert 'id="schema-OrderData"' in html
    assert "<script" not in html
    assert "https://cdn" not in html


# --- Admin --------------------------------------------------------------------------------


def test_shop_admin_creates_a_key_that_is_shown_once_and_works(client, auth):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")

    response = client.post(
        "/admin/api_keys/new/", data={"shop": shop.id, "name": "Order sync"}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    shown = html.split("it is not shown again: ", 1)[1].split("<", 1)[0].strip()
    assert shown.startswith("rd_")
    assert client.get("/api/v1/returns", headers=bearer(shown)).status_code == 200
    assert shown not in client.get("/admin/api_keys/").get_data(as_text=True)

    stored = db.session.scalar(select(ApiKey))
    client.post("/admin/api_keys/action/", data={"action": "revoke", "rowid": [stored.id]})
    assert client.get("/api/v1/returns", headers=bearer(shown)).status_code == 401


def test_agent_cannot_open_api_keys(client, auth):
    shop = make_shop()
    make_user("agent@example.com", shop, role="agent")
    db.session.commit()
    auth.login("agent@example.com")
    assert client.get("/admin/api_keys/").status_code == 403


def test_admin_sees_only_keys_of_shops_they_administer(client, auth):
    shop_a, shop_b = make_shop("a", "Shop A"), make_shop("b", "Shop B")
    key_a = make_key(shop_a, name="Key of A")
    make_key(shop_b, name="Key of B")
    make_user("admin@example.com", shop_a, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    html = client.get("/admin/api_keys/").get_data(as_text=True)
    assert "Key of A" in html
    assert "Key of B" not in html
    assert key_a not in html


def test_api_posts_need_no_csrf_token_even_with_csrf_on(migrated, smtp_sink, tmp_path):
    config = app_config(migrated, smtp_sink, tmp_path) | {"WTF_CSRF_ENABLED": True}
    csrf_app = create_app(config)
    with csrf_app.app_context():
        try:
            key = make_key(make_shop())
            db.session.commit()
            client = csrf_app.test_client()
            response = client.post("/api/v1/orders", json=order_body(), headers=bearer(key))
            assert response.status_code == 201
            assert client.post("/login", data={"email": "x@example.com"}).status_code == 400
        finally:
            db.session.remove()
            empty_all_tables()


# --- Creating requests (the headless portal) ----------------------------------------------


def refused_field(response, status: int = 409) -> str:
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    return response.json["errors"][0]["field"]


def test_request_made_through_the_api_is_confirmed_to_the_customer_like_the_portals(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key)

    response = post_request(client, key, request_body(order, resolution="store_credit"))

    assert response.status_code == 201
    created = response.json
    assert (created["status"], created["resolution"]) == ("new", "store_credit")
    assert [(line["sku"], line["quantity"]) for line in created["lines"]] == [("SOCKS", 2)]
    assert created["status_url"].endswith(f"/returns/demo/status/{_token(created['number'])}")
    templates = db.session.scalars(select(OutboundEmail.template)).all()
    assert "request_confirmation" in templates and "request_new_staff" in templates


def _token(number: str) -> str:
    return db.session.scalar(select(ReturnRequest.public_token).filter_by(number=number))


def test_units_already_returned_cannot_be_requested_again(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key)
    assert post_request(client, key, request_body(order)).status_code == 201

    again = post_request(client, key, request_body(order))

    assert refused_field(again) == "lines.0.quantity"
    assert again.json["errors"][0]["code"] == "not_returnable"
    assert db.session.scalar(select(func.count()).select_from(ReturnRequest)) == 1


def test_request_after_the_return_window_is_refused(client):
    shop = make_shop(return_window_days=30)
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key, days_ago=31)
    response = post_request(client, key, request_body(order))
    assert refused_field(response) == "order_number"
    assert "closed" in response.json["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "made-up"}, "lines.0.reason"),
        ({"reason": "broken"}, "lines.0.comment"),
        ({"reason": "fits", "order_line_id": 999_999}, "lines.0.order_line_id"),
    ],
)
def test_request_lines_follow_the_shops_reasons(client, change, field):
    shop = make_shop()
    db.session.add_all(
        [
            ReturnReason(shop=shop, code="fits", label_nl="Past niet", label_en="Does not fit"),
            ReturnReason(
                shop=shop, code="broken", label_nl="Kapot", label_en="Broken", requires_comment=True
            ),
        ]
    )
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key)
    body = request_body(order)
    body["lines"][0] |= change
    assert refused_field(post_request(client, key, body)) == field


def test_request_needs_a_resolution_the_shop_offers_and_an_exchange_note(client):
    shop = make_shop(offered_resolutions="refund,exchange")
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key)
    credit = post_request(client, key, request_body(order, resolution="store_credit"))
    assert refused_field(credit) == "resolution"
    exchange = post_request(client, key, request_body(order, resolution="exchange"))
    assert refused_field(exchange) == "exchange_note"


def test_request_for_an_unknown_or_other_shops_order_is_not_found(client):
    shop, other = make_shop("a", "A"), make_shop("b", "B")
    key, other_key = make_key(shop), make_key(other)
    db.session.commit()
    order = delivered_order(client, key)
    response = post_request(client, other_key, request_body(order))
    assert refused_field(response, 404) == "order_number"


def test_malformed_request_is_a_problem_naming_the_field(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    body = {"order_number": "1001", "lines": [{"order_line_id": 1, "quantity": 0}]}
    assert refused_field(post_request(client, key, body), 422) == "lines.0.quantity"


def test_retried_request_creation_creates_one_request(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    order = delivered_order(client, key)
    first = post_request(client, key, request_body(order), **{"Idempotency-Key": "req-1"})
    retry = post_request(client, key, request_body(order), **{"Idempotency-Key": "req-1"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json["number"] == first.json["number"]
    assert db.session.scalar(select(func.count()).select_from(ReturnRequest)) == 1


# --- Actions ------------------------------------------------------------------------------


def act(client, key: str, number: str, body: dict, **headers):
    url = f"/api/v1/return-requests/{number}/actions"
    return client.post(url, json=body, headers=bearer(key) | headers)


def test_approval_by_api_emails_the_customer_and_is_audited_as_the_key(client):
    shop = make_shop()
    key = make_key(shop, "Webshop sync")
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()

    response = act(client, key, req.number, {"action": "approve"})

    assert response.status_code == 200
    assert response.json["status"] == "approved"
    assert [line["decision"] for line in response.json["lines"]] == ["approved"]
    event = db.session.scalar(select(AuditEvent).filter_by(action="approve"))
    assert event.actor_label == "API key 'Webshop sync'"
    assert db.session.scalar(select(OutboundEmail.template)) == "request_approved"


def test_deciding_twice_is_refused_with_the_workflows_message(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert act(client, key, req.number, {"action": "approve"}).status_code == 200
    again = act(client, key, req.number, {"action": "approve"})
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.json["detail"] == "Already approved by API key 'webshop'."


def test_cancel_needs_the_reason_for_the_customer(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert refused_field(act(client, key, req.number, {"action": "cancel"})) == "reason"
    done = act(client, key, req.number, {"action": "cancel", "reason": "Worn"})
    assert (done.json["status"], done.json["cancel_reason"]) == ("cancelled", "Worn")


def test_a_key_cannot_hold_nor_release_a_colleagues_hold(client):
    shop = make_shop()
    key = make_key(shop)
    agent = make_user("anna@shop.example", shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert refused_field(act(client, key, req.number, {"action": "hold"})) == "action"
    workflow.hold(req, agent)
    db.session.commit()
    release = act(client, key, req.number, {"action": "release"})
    assert release.status_code == 409
    assert "Held by Anna" in release.json["detail"]
    assert db.session.get(ReturnRequest, req.id).status == "on_hold"


def test_concept_then_approve_through_the_api(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert act(client, key, req.number, {"action": "concept"}).json["status"] == "concept"
    assert act(client, key, req.number, {"action": "approve"}).json["status"] == "approved"


def test_unknown_action_is_a_problem_naming_the_field(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert refused_field(act(client, key, req.number, {"action": "delete"}), 422) == "action"


def test_key_of_another_shop_cannot_act_on_a_request(client):
    shop, other = make_shop("a", "A"), make_shop("b", "B")
    other_key = make_key(other)
    req = make_request(shop, make_order(shop, **API_ORDER))
    shipment = make_return(req, "RET-1", status="label_created")
    db.session.commit()
    assert act(client, other_key, req.number, {"action": "approve"}).status_code == 404
    event = {"event": "in_transit"}
    url = f"/api/v1/returns/{shipment.number}/events"
    assert client.post(url, json=event, headers=bearer(other_key)).status_code == 404
    db.session.expire_all()
    assert db.session.get(ReturnRequest, req.id).status == "new"
    assert db.session.get(Return, shipment.id).status == "label_created"


def test_retried_action_with_the_same_idempotency_key_acts_once(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    first = act(client, key, req.number, {"action": "approve"}, **{"Idempotency-Key": "a-1"})
    retry = act(client, key, req.number, {"action": "approve"}, **{"Idempotency-Key": "a-1"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json
    approvals = select(func.count()).select_from(AuditEvent).filter_by(action="approve")
    assert db.session.scalar(approvals) == 1


def test_idempotency_key_of_an_approval_cannot_cancel_and_still_replays_the_approval(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    same_key = {"Idempotency-Key": "decision-1"}
    approved = act(client, key, req.number, {"action": "approve"}, **same_key)
    cancel = {"action": "cancel", "reason": "Out of stock"}

    refused = act(client, key, req.number, cancel, **same_key)

    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert "Idempotency-Key" in refused.json["title"]
    assert "different request" in refused.json["detail"]
    db.session.expire_all()
    assert db.session.get(ReturnRequest, req.id).status == "approved"
    cancels = select(func.count()).select_from(AuditEvent).filter_by(action="cancel")
    assert db.session.scalar(cancels) == 0
    replay = act(client, key, req.number, {"action": "approve"}, **same_key)
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == approved.json


# --- Return events ------------------------------------------------------------------------


def post_event(client, key: str, number: str, body: dict):
    return client.post(f"/api/v1/returns/{number}/events", json=body, headers=bearer(key))


def test_late_carrier_event_changes_nothing(client):
    shop = make_shop()
    key = make_key(shop)
    shipment = make_return(
        make_request(shop, make_order(shop, **API_ORDER), "label_created"), "RET-1", "delivered"
    )
    db.session.commit()
    response = post_event(client, key, shipment.number, {"event": "in_transit"})
    assert (response.status_code, response.json["status"]) == (200, "delivered")


def test_received_needs_every_returned_line_with_its_condition(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER), "label_created")
    shipment = make_return(req, "RET-1", "delivered")
    line_id = req.lines[0].order_line_id
    db.session.commit()

    missing = post_event(client, key, shipment.number, {"event": "received"})
    assert refused_field(missing) == "lines"
    stranger = [{"order_line_id": line_id + 1, "condition": "ok", "received_quantity": 1}]
    unknown = post_event(client, key, shipment.number, {"event": "received", "lines": stranger})
    assert refused_field(unknown) == "lines.0.order_line_id"
    too_many = [{"order_line_id": line_id, "condition": "ok", "received_quantity": 5}]
    over = post_event(client, key, shipment.number, {"event": "received", "lines": too_many})
    assert over.status_code == 409 and "between 0 and 1" in over.json["detail"]

    good = [{"order_line_id": line_id, "condition": "damaged", "received_quantity": 1}]
    done = post_event(client, key, shipment.number, {"event": "received", "lines": good})
    assert (done.status_code, done.json["status"]) == (200, "received")
    assert db.session.get(ReturnRequestLine, req.lines[0].id).condition == "damaged"


def test_resolving_a_return_that_was_not_received_is_refused(client):
    shop = make_shop()
    key = make_key(shop)
    shipment = make_return(
        make_request(shop, make_order(shop, **API_ORDER), "label_created"), "RET-1", "in_transit"
    )
    db.session.commit()
    response = post_event(client, key, shipment.number, {"event": "resolved"})
    assert response.status_code == 409
    assert "RET-1" in response.json["detail"]


# --- Messages -----------------------------------------------------------------------------


def post_message(client, key: str, number: str, body: dict):
    url = f"/api/v1/return-requests/{number}/messages"
    return client.post(url, json=body, headers=bearer(key))


def test_message_from_the_api_emails_the_customer_and_joins_the_thread(client):
    shop = make_shop()
    key = make_key(shop, "Webshop sync")
    agent = make_user("anna@shop.example", shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    conversation.add_internal_note(req, agent, "Regular customer", [])
    db.session.commit()

    sent = post_message(client, key, req.number, {"body": "Which size would you like?"})
    reply = post_message(client, key, req.number, {"body": "Size M please", "direction": "inbound"})

    assert (sent.status_code, reply.status_code) == (201, 201)
    thread = client.get(f"/api/v1/return-requests/{req.number}/messages", headers=bearer(key))
    assert [(m["direction"], m["body"], m["author"]) for m in thread.json["data"]] == [
        ("outbound", "Which size would you like?", None),
        ("inbound", "Size M please", None),
    ]
    templates = db.session.scalars(select(OutboundEmail.template)).all()
    assert "message_to_customer" in templates and "reply_received" in templates
    writer = db.session.scalar(select(AuditEvent.actor_label).filter_by(action="message_sent"))
    assert writer == "API key 'Webshop sync'"


def test_empty_message_is_refused_naming_the_body(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    assert refused_field(post_message(client, key, req.number, {"body": "   "})) == "body"
    assert refused_field(post_message(client, key, req.number, {"body": ""})) == "body"


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_files_go_both_ways_through_the_api(client, smtp_sink):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    photo, receipt = jpeg_bytes(), b"%PDF-1.4 receipt"
    reply = post_message(
        client,
        key,
        req.number,
        {
            "direction": "inbound",
            "files": [{"name": "scratch.jpg", "content_base64": encoded(photo)}],
        },
    )
    sent = post_message(
        client,
        key,
        req.number,
        {
            "body": "Your receipt",
            "files": [{"name": "receipt.pdf", "content_base64": encoded(receipt)}],
        },
    )

    assert (reply.status_code, sent.status_code) == (201, 201)
    [file] = reply.json["attachments"]
    assert (file["name"], file["content_type"], file["size"]) == (
        "scratch.jpg",
        "image/jpeg",
        len(photo),
    )
    url = f"/api/v1/return-requests/{req.number}/attachments/{file['id']}"
    fetched = client.get(url, headers=bearer(key))
    assert base64.b64decode(fetched.json["content_base64"]) == photo
    [email] = smtp_sink.to(req.customer_email)
    [attached] = list(email.iter_attachments())
    assert (attached.get_filename(), attached.get_content()) == ("receipt.pdf", receipt)


def test_a_file_the_shop_would_not_accept_is_refused_naming_it(client):
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    program = {"name": "invoice.exe", "content_base64": encoded(b"MZ\x90\x00 not a document")}

    refused = post_message(client, key, req.number, {"direction": "inbound", "files": [program]})
    assert refused.status_code == 409
    assert "invoice.exe is not a PDF or an image." in refused.json["detail"]
    for content in ("not base64!", "Zm9v€"):
        garbled = {"name": "photo.jpg", "content_base64": content}
        refusal = post_message(client, key, req.number, {"files": [garbled]})
        assert refused_field(refusal) == "files.0.content_base64"
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_files_of_internal_notes_and_other_shops_are_not_served(client):
    shop, other = make_shop("a", "A"), make_shop("b", "B")
    key, other_key = make_key(shop), make_key(other)
    agent = make_user("anna@shop.example", shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    note = conversation.add_internal_note(
        req, agent, "", [conversation.Upload("margin.pdf", b"%PDF-1.4 cost price")]
    )
    db.session.commit()
    url = f"/api/v1/return-requests/{req.number}/attachments/{note.attachments[0].id}"
    assert client.get(url, headers=bearer(key)).status_code == 404
    assert client.get(url, headers=bearer(other_key)).status_code == 404
    assert (
        client.get(url.replace(str(note.attachments[0].id), "x1"), headers=bearer(key)).status_code
        == 404
    )


@pytest.mark.parametrize("attachment_id", [str(2**31), str(2**63), str(2**64), "-5", "²", "1e9"])
def test_attachment_id_no_file_can_have_is_not_found(app, client, attachment_id):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production: a crash is a 500
    shop = make_shop()
    key = make_key(shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    url = f"/api/v1/return-requests/{req.number}/attachments/{attachment_id}"
    response = client.get(url, headers=bearer(key))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_key_of_another_shop_cannot_read_or_write_the_thread(client):
    shop, other = make_shop("a", "A"), make_shop("b", "B")
    other_key = make_key(other)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    url = f"/api/v1/return-requests/{req.number}/messages"
    assert client.get(url, headers=bearer(other_key)).status_code == 404
    assert post_message(client, other_key, req.number, {"body": "Hi"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 0


def test_staff_see_a_message_the_api_sent_under_the_shops_name(client, auth):
    shop = make_shop(name="Demo Winkel")
    key = make_key(shop)
    make_user("anna@shop.example", shop)
    req = make_request(shop, make_order(shop, **API_ORDER))
    db.session.commit()
    post_message(client, key, req.number, {"body": "Your parcel is on its way back"})
    auth.login("anna@shop.example")
    page = client.get(f"/admin/requests/{req.id}").get_data(as_text=True)
    thread = page.split('id="thread"')[1]
    assert '<strong class="text-dark">Demo Winkel</strong>' in thread
    assert "Anna de Vries</strong>" not in thread
