"""The refund breakdown: accepted lines, their discounts, the return fee, and the total."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from flask_babel import force_locale

from domain.refunds import format_money, label_fee_cents, refund_breakdown
from domain.statuses import FEWER_RECEIVED, REJECTED
from factories import RETURN_ADDRESS, make_order, make_request, make_return, make_shop
from models import CONDITION_MISSING

SHIRT = {"product_name": "Overhemd", "unit_price_cents": 4000, "quantity": 2}
SHOES = {"product_name": "Schoenen", "unit_price_cents": 8995, "quantity": 1}


def breakdown_for(order_lines, request_lines, shop_fields=None, **request_fields):
    shop = make_shop(**RETURN_ADDRESS, **(shop_fields or {}))
    order = make_order(shop, order_lines)
    return refund_breakdown(make_request(shop, order, lines=request_lines, **request_fields))


@pytest.mark.parametrize(
    ("request_lines", "refunded", "items"),
    [
        pytest.param(
            [{"order_line": 0, "quantity": 2}, {"order_line": 1, "quantity": 1}],
            [2, 1],
            2 * 4000 + 8995,
            id="everything approved",
        ),
        pytest.param(
            [
                {"order_line": 0, "quantity": 2},
                {"order_line": 1, "quantity": 1, "decision": "rejected"},
            ],
            [2, 0],
            2 * 4000,
            id="partial approval",
        ),
        pytest.param(
            [
                {"order_line": 0, "quantity": 1},
                {"order_line": 1, "quantity": 1, "decision": "open"},
            ],
            [1, 1],
            4000 + 8995,
            id="undecided line shows what approval would refund",
        ),
    ],
)
def test_rejected_lines_are_not_refunded(app, request_lines, refunded, items):
    breakdown = breakdown_for([SHIRT, SHOES], request_lines, free_shipping=True)

    assert [line.refunded_quantity for line in breakdown.lines] == refunded
    assert breakdown.items_cents == items
    assert breakdown.total_cents == items


def test_rejected_line_says_why_it_is_not_refunded(app):
    breakdown = breakdown_for(
        [SHIRT], [{"quantity": 2, "decision": "rejected"}], free_shipping=True
    )

    assert breakdown.lines[0].note == REJECTED
    with force_locale("en"):
        assert breakdown.lines[0].note_text == "Not approved for return"


@pytest.mark.parametrize(
    ("ordered", "discount", "returned", "expected_discount"),
    [
        pytest.param(2, 1000, 2, 1000, id="whole line returned: whole discount"),
        pytest.param(2, 1000, 1, 500, id="half the units: half the discount"),
        pytest.param(3, 1000, 1, 333, id="a third, rounded down"),
        pytest.param(3, 1000, 2, 667, id="two thirds, rounded up"),
        pytest.param(3, 1, 1, 0, id="a third of a cent is nothing"),
        pytest.param(2, 1, 1, 1, id="half a cent rounds half up"),
    ],
)
def test_order_line_discount_is_shared_pro_rata(
    app, ordered, discount, returned, expected_discount
):
    line = {"product_name": "Trui", "unit_price_cents": 3000, "quantity": ordered}
    breakdown = breakdown_for(
        [{**line, "discount_cents": discount}], [{"quantity": returned}], free_shipping=True
    )

    assert breakdown.discount_cents == expected_discount
    assert breakdown.total_cents == returned * 3000 - expected_discount


@pytest.mark.parametrize(
    ("shop_fields", "request_fields", "fee"),
    [
        pytest.param({"return_fee_cents": 595}, {"free_shipping": False}, 595, id="fee deducted"),
        pytest.param({"return_fee_cents": 595}, {"free_shipping": True}, 0, id="free shipping"),
        pytest.param(
            {"return_fee_cents": 595},
            {"free_shipping": False, "keep_items": True},
            0,
            id="customer keeps the items: nothing ships",
        ),
        pytest.param(
            {"return_fee_cents": 595, "return_fee_policy": "paid_at_label"},
            {"free_shipping": False},
            0,
            id="fee paid another way",
        ),
        pytest.param(
            {"return_fee_cents": 0}, {"free_shipping": False}, 0, id="shop charges no fee"
        ),
    ],
)
def test_return_fee_is_deducted_only_when_shipping_is_not_free(
    app, shop_fields, request_fields, fee
):
    breakdown = breakdown_for([SHOES], [{"quantity": 1}], shop_fields, **request_fields)

    assert breakdown.fee_cents == fee
    assert breakdown.total_cents == 8995 - fee


def test_fee_recorded_on_the_return_wins_over_the_shops_current_fee(app):
    shop = make_shop(**RETURN_ADDRESS, return_fee_cents=595)
    request = make_request(shop, make_order(shop, [SHOES]), lines=[{"quantity": 1}])
    make_return(request, cost_cents=495)
    make_return(request, number="RET-VOID", cost_cents=999, status="cancelled")
    shop.return_fee_cents = 795

    assert refund_breakdown(request).fee_cents == 495


def test_fee_never_makes_the_refund_negative(app):
    cheap = {"product_name": "Sokken", "unit_price_cents": 300, "quantity": 1}
    breakdown = breakdown_for([cheap], [{"quantity": 1}], {"return_fee_cents": 595})

    assert breakdown.fee_cents == 300
    assert breakdown.total_cents == 0


@pytest.mark.parametrize(
    ("inspection", "refunded", "note"),
    [
        pytest.param({"condition": "ok", "received_quantity": 2}, 2, None, id="all received"),
        pytest.param({"condition": "ok"}, 2, None, id="ok without a count"),
        pytest.param(
            {"condition": "ok", "received_quantity": 1}, 1, FEWER_RECEIVED, id="fewer received"
        ),
        pytest.param(
            {"condition": "ok", "received_quantity": 5}, 2, None, id="more received than asked"
        ),
        pytest.param(
            {"condition": "ok", "received_quantity": 0}, 0, CONDITION_MISSING, id="none received"
        ),
        pytest.param({"condition": "damaged", "received_quantity": 2}, 0, "damaged", id="damaged"),
        pytest.param(
            {"condition": "wrong_item", "received_quantity": 2}, 0, "wrong_item", id="wrong item"
        ),
        pytest.param({"condition": "missing", "received_quantity": 0}, 0, "missing", id="missing"),
    ],
)
def test_inspection_decides_what_is_refunded(app, inspection, refunded, note):
    discounted_shirt = {**SHIRT, "discount_cents": 800}
    breakdown = breakdown_for(
        [discounted_shirt], [{"quantity": 2, **inspection}], free_shipping=True
    )

    line = breakdown.lines[0]
    assert (line.refunded_quantity, line.note) == (refunded, note)
    assert line.amount_cents == refunded * 4000 - refunded * 400
    assert breakdown.inspected


def test_damaged_line_is_excluded_while_good_lines_are_refunded_minus_fee(app):
    breakdown = breakdown_for(
        [SHIRT, SHOES],
        [
            {"order_line": 0, "quantity": 2, "condition": "ok", "received_quantity": 2},
            {"order_line": 1, "quantity": 1, "condition": "damaged", "received_quantity": 1},
        ],
        {"return_fee_cents": 595},
    )

    assert [line.amount_cents for line in breakdown.lines] == [8000, 0]
    assert (breakdown.items_cents, breakdown.fee_cents, breakdown.total_cents) == (
        8000,
        595,
        7405,
    )
    with force_locale("nl"):
        assert breakdown.lines[1].note_text


def test_breakdown_is_in_the_orders_currency_and_not_inspected_before_receipt(app):
    breakdown = breakdown_for([SHOES], [{"quantity": 1}], free_shipping=True)

    assert breakdown.currency == "EUR"
    assert not breakdown.inspected
    assert breakdown.lines[0].note_text == ""


@pytest.mark.parametrize(
    ("cents", "currency", "locale", "text"),
    [
        (1995, "EUR", "nl", "€\xa019,95"),
        (1995, "EUR", "en", "€19.95"),
        (123456, "EUR", "nl", "€\xa01.234,56"),
        (-595, "EUR", "nl", "€\xa0-5,95"),
        (5, "USD", "en", "$0.05"),
    ],
)
def test_money_is_formatted_the_way_the_locale_writes_it(cents, currency, locale, text):
    assert format_money(cents, currency, locale) == text


@pytest.mark.parametrize(
    ("request_fields", "fee"),
    [
        pytest.param({"free_shipping": False}, 595, id="shop fee"),
        pytest.param({"free_shipping": True}, 0, id="free shipping: free label"),
        pytest.param({"keep_items": True}, 0, id="kept items: no label"),
    ],
)
def test_label_fee_shown_before_the_label_follows_free_shipping(app, request_fields, fee):
    shop = make_shop(**RETURN_ADDRESS, return_fee_cents=595)
    request = make_request(
        shop, make_order(shop, [SHOES]), lines=[{"quantity": 1}], **request_fields
    )

    assert label_fee_cents(request) == fee


def render_breakdown(app, breakdown, language: str) -> str:
    template = (
        '{% from "refunds/breakdown.html" import refund_breakdown_table %}'
        "{{ refund_breakdown_table(breakdown) }}"
    )
    with app.test_request_context(), force_locale(language):
        html = render_template_string(template, breakdown=breakdown)
    return re.sub(r"[ \n]+", " ", html)  # keeps the no-break space money is written with


def test_breakdown_table_shows_lines_fee_and_total_in_the_readers_money_format(app):
    breakdown = breakdown_for(
        [{**SHIRT, "discount_cents": 800}, SHOES],
        [
            {"order_line": 0, "quantity": 2, "condition": "ok", "received_quantity": 1},
            {"order_line": 1, "quantity": 1, "condition": "damaged"},
        ],
        {"return_fee_cents": 595},
    )

    english = render_breakdown(app, breakdown, "en")
    dutch = render_breakdown(app, breakdown, "nl")

    assert "1 of 2" in english and "Fewer received than requested" in english
    assert "Received damaged" in english
    assert "-€4.00" in english and "-€5.95" in english
    assert "<strong>€30.05</strong>" in english
    assert "<strong>€\xa030,05</strong>" in dutch
    assert "Expected amount" not in english
