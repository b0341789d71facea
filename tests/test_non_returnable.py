"""Non-returnable items: the shop's rules (SKU pattern or tag, never or within a window of their
own) and the platform's own flag, in the portal, the API, the imports and the settings."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from api_helpers import (
    bearer,
    make_key,
    order_body,
    post_request,
    request_body,
)
from domain import submission_rules
from domain.submission_rules import ChosenLine
from extensions import db
from factories import make_order, make_shop, make_user
from models import OrderLine, ReturnabilityRule
from portal_helpers import PORTAL_ORDER, choose, lookup
from services import order_import

SCARF = 1  # the index of the woollen scarf in PORTAL_ORDER's lines


def rule(shop, reason: str = "final_sale", **fields) -> ReturnabilityRule:
    made = ReturnabilityRule(shop=shop, reason=reason, **fields)
    db.session.add(made)
    db.session.commit()
    return made


def tag(order, index: int, tags: str) -> OrderLine:
    line = order.lines[index]
    line.tags = tags
    db.session.commit()
    return line


def items_page(client, language: str = "en") -> str:
    lookup(client)
    return client.get(f"/returns/demo/items?lang={language}").get_data(as_text=True)


def test_a_tagged_item_is_shown_with_its_reason_and_cannot_be_chosen(client, shop, order):
    rule(shop, tag="final-sale")
    scarf = tag(order, SCARF, "Final-Sale, winter")

    page = items_page(client)
    refused = choose(client, {scarf.id: 1}).get_data(as_text=True)

    assert "This item cannot be returned: final sale." in page
    assert f'id="line-{scarf.id}" name="line-{scarf.id}" value="1" disabled' in page
    assert "This item cannot be returned: final sale." in refused
    assert choose(client, {order.lines[0].id: 1}).status_code == 302


def test_a_sku_pattern_matches_and_the_page_speaks_dutch(client, shop, order):
    scarf = order.lines[SCARF]
    scarf.sku = "GIFT-25"
    rule(shop, reason="gift_card", sku_pattern="gift-*")

    page = items_page(client, "nl")

    assert "Dit artikel kan niet retour: cadeaukaart." in page


def test_an_item_with_its_own_window_closes_before_the_shops(client, shop):
    order = make_order(shop, **(PORTAL_ORDER | {"delivered_days_ago": 10}))
    db.session.commit()
    rule(shop, reason="final_sale", tag="sale", window_days=7)
    scarf = tag(order, SCARF, "sale")

    page = items_page(client)
    refused = choose(client, {scarf.id: 1}).get_data(as_text=True)

    assert "The return period for this item closed on" in page
    assert "The return period for this item has closed." in refused


def test_the_platforms_own_flag_keeps_an_item_back(client, order):
    scarf = order.lines[SCARF]
    scarf.returnable = False
    db.session.commit()

    page = items_page(client)

    assert "This item cannot be returned: the shop does not take this item back." in page


def test_an_inactive_rule_does_nothing(client, shop, order):
    rule(shop, tag="final-sale", active=False)
    tag(order, SCARF, "final-sale")

    assert "cannot be returned" not in items_page(client)


def test_a_withdrawal_ignores_the_shops_policy_but_not_the_legal_exceptions(shop, order):
    rule(shop, reason="final_sale", tag="final-sale")
    rule(shop, reason="hygiene", tag="sealed")
    blouse, scarf = order.lines[0], tag(order, SCARF, "final-sale")
    order.lines[0].tags = "sealed"
    db.session.commit()

    def codes(line: OrderLine) -> list[str]:
        chosen = [ChosenLine(order_line_id=line.id, quantity=1)]
        problems = submission_rules.quantity_problems(order, shop, chosen, is_withdrawal=True)
        return [problem.code for problem in problems]

    assert codes(scarf) == []
    assert codes(blouse) == ["not_returnable"]


def test_the_api_refuses_a_non_returnable_line_with_a_field_code(client, shop):
    key = make_key(shop)
    rule(shop, reason="hygiene", tag="hygiene")
    body = order_body(delivered_at=(datetime.now(UTC) - timedelta(days=2)).isoformat())
    body["lines"][1] |= {"tags": ["hygiene"]}
    posted = client.post("/api/v1/orders", json=body, headers=bearer(key))
    assert posted.status_code == 201, posted.json

    answer = post_request(client, key, request_body(posted.json))

    assert answer.status_code == 409
    [error] = answer.json["errors"]
    assert error["code"] == "not_returnable"
    assert error["field"] == "lines.0.quantity"
    assert "hygiene" in error["message"]


def test_the_api_stores_tags_and_the_platforms_flag(client, shop):
    key = make_key(shop)
    db.session.commit()
    body = order_body()
    body["lines"][0] |= {"tags": ["Final-Sale", "winter"], "returnable": False}

    answer = client.post("/api/v1/orders", json=body, headers=bearer(key))

    assert answer.status_code == 201, answer.json
    shirt = db.session.query(OrderLine).filter_by(sku="SHIRT").one()
    assert shirt.tags == "final-sale,winter" and shirt.returnable is False
    shown = client.get("/api/v1/orders/1001", headers=bearer(key)).json
    assert (shown["lines"][0]["tags"], shown["lines"][0]["returnable"]) == (
        ["final-sale", "winter"],
        False,
    )


CSV_HEAD = (
    "order_number,ordered_at,delivered_at,customer_name,customer_email,customer_postcode,"
    "customer_country,customer_language,sku,product_name,variant,quantity,unit_price,discount,"
    "image_url"
)
CSV_LINE = "1001,2026-03-01,2026-03-03,Anna,anna@example.com,1234 AB,NL,nl,{sku},{sku},,1,9.95,,"


def test_the_csv_import_reads_tags_and_the_flag_and_older_files_still_import(app):
    shop = make_shop()
    tagged = "\n".join(
        [
            CSV_HEAD + ",tags,returnable",
            CSV_LINE.format(sku="SOAP") + ',"hygiene, sealed",no',
            CSV_LINE.format(sku="SHIRT") + ",,",
        ]
    )
    older = "\n".join([CSV_HEAD, CSV_LINE.replace("1001", "1002").format(sku="SCARF")])

    for text in (tagged, older):
        parsed, _result = order_import.import_csv(shop.id, io.StringIO(text + "\n", newline=""))
        assert parsed.errors == [], parsed.errors
    db.session.commit()

    lines = {line.sku: line for line in db.session.query(OrderLine)}
    assert (lines["SOAP"].tags, lines["SOAP"].returnable) == ("hygiene,sealed", False)
    assert (lines["SHIRT"].tags, lines["SHIRT"].returnable) == (None, True)
    assert (lines["SCARF"].tags, lines["SCARF"].returnable) == (None, True)


@pytest.fixture
def admin_client(client, auth, shop):
    make_user("boss@demo.example", shop, role="admin")
    db.session.commit()
    auth.login("boss@demo.example")
    return client


def test_a_shop_admin_adds_a_rule_in_the_settings(admin_client, shop):
    answer = admin_client.post(
        "/admin/returnability/new/",
        data={"shop": shop.id, "tag": " Final-Sale ", "reason": "final_sale", "active": "y"},
        follow_redirects=True,
    )

    assert answer.status_code == 200
    stored = db.session.query(ReturnabilityRule).one()
    assert (stored.tag, stored.sku_pattern, stored.window_days) == ("final-sale", None, None)
    listing = admin_client.get("/admin/returnability/").get_data(as_text=True)
    assert "final sale" in listing and "Never" in listing


def test_a_rule_needs_a_pattern_or_a_tag(admin_client, shop):
    answer = admin_client.post(
        "/admin/returnability/new/",
        data={"shop": shop.id, "reason": "final_sale", "window_days": "7"},
        follow_redirects=True,
    )

    assert "Give a SKU pattern or a tag (or both)." in answer.get_data(as_text=True)
    assert db.session.query(ReturnabilityRule).count() == 0


def test_another_shops_admin_neither_sees_nor_changes_the_rules(client, auth, shop):
    own = rule(shop, tag="clearance")
    other = make_shop("other", "Other")
    make_user("boss@other.example", other, role="admin")
    db.session.commit()
    auth.login("boss@other.example")

    assert "clearance" not in client.get("/admin/returnability/").get_data(as_text=True)
    assert client.get(f"/admin/returnability/edit/?id={own.id}").status_code in (302, 404)
    client.post("/admin/returnability/delete/", data={"id": own.id})
    assert db.session.query(ReturnabilityRule).count() == 1
