"""The Requests list's reason filter: a request is listed when any of its lines gives the
reason, however the lines were written (the portal's submission, a line added or changed
later), and never another shop's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from factories import make_order, make_reasons, make_request, make_shop
from models import ReturnReason, ReturnRequest, ReturnRequestLine
from query_counting import counted_queries


@pytest.fixture
def logged_in(client, auth, anna):
    db.session.commit()
    auth.login(anna.email)
    return client


def filtered(client, reason: str) -> str:
    """The list of all statuses, filtered by ``reason``."""
    return client.get(f"/admin/requests/?all=1&flt1_reason={reason}").get_data(as_text=True)


def numbers_on(page: str) -> set[str]:
    numbers = db.session.scalars(select(ReturnRequest.number)).all()
    return {number for number in numbers if f">{number}<" in page}


def listed(client, reason: str) -> set[str]:
    """The request numbers the list shows when filtered by ``reason``."""
    return numbers_on(filtered(client, reason))


def request_giving(shop, *codes: str | None) -> ReturnRequest:
    """A request with one line per code (None: a line without a reason)."""
    found = db.session.scalars(select(ReturnReason).where(ReturnReason.shop_id == shop.id))
    reasons = {reason.code: reason for reason in found}
    order = make_order(shop, lines=len(codes))
    lines = [
        {"order_line": i, "reason": reasons[code] if code else None} for i, code in enumerate(codes)
    ]
    request = make_request(shop, order, lines=lines)
    db.session.commit()
    return request


@pytest.fixture
def reasons(shop):
    made = make_reasons(shop)
    db.session.commit()
    return made


def test_a_request_is_listed_under_each_reason_its_lines_give(logged_in, shop, reasons):
    damaged = request_giving(shop, "damaged")
    both = request_giving(shop, "too_big", "damaged")
    too_big = request_giving(shop, "too_big", None)
    no_reason = request_giving(shop, None)

    assert listed(logged_in, "damaged") == {damaged.number, both.number}
    assert listed(logged_in, "too_big") == {both.number, too_big.number}
    assert no_reason.number not in listed(logged_in, "too_big") | listed(logged_in, "damaged")


def test_a_request_the_webshop_submits_is_listed_under_its_lines_reason(desk):
    submitted = desk.submit("en")

    assert listed(desk.client, "too_small") == {submitted.number}
    assert listed(desk.client, "too_big") == set()


def test_another_shops_request_with_the_same_reason_code_is_not_listed(logged_in, shop, reasons):
    ours = request_giving(shop, "damaged")
    other = make_shop("other", "Other")
    make_reasons(other)
    theirs = request_giving(other, "damaged")

    shown = listed(logged_in, "damaged")
    assert ours.number in shown
    assert theirs.number not in shown


def test_a_line_added_or_changed_later_moves_the_request_between_reasons(logged_in, shop, reasons):
    request = request_giving(shop, "too_big")
    assert listed(logged_in, "damaged") == set()

    extra = make_order(shop, lines=1).lines[0]
    db.session.add(
        ReturnRequestLine(request_id=request.id, order_line=extra, reason_id=reasons["damaged"].id)
    )
    db.session.commit()
    assert listed(logged_in, "damaged") == {request.number}

    first = db.session.get(ReturnRequest, request.id).lines[0]
    first.reason = reasons["damaged"]
    db.session.commit()
    assert listed(logged_in, "too_big") == set()
    assert listed(logged_in, "damaged") == {request.number}


def test_the_request_held_in_the_session_reads_its_new_reasons(app, shop, reasons):
    request = request_giving(shop, "too_big")
    assert request.reason_ids == [reasons["too_big"].id]
    request.lines.append(
        ReturnRequestLine(order_line=make_order(shop, lines=1).lines[0], reason=reasons["damaged"])
    )
    db.session.commit()
    assert sorted(request.reason_ids) == sorted([reasons["too_big"].id, reasons["damaged"].id])


def test_support_filters_sixty_shops_by_one_reason_with_one_parameter_for_their_reasons(
    client, auth, support
):
    """Each shop has its own "damaged": the filter asks for all of their ids as one array
    parameter on PostgreSQL, so the statement stays one psycopg parses once and PostgreSQL
    prepares, whichever reason and however many shops."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no arrays")
    shops = [make_shop(f"shop-{i}", f"Shop {i}") for i in range(60)]
    for shop in shops:
        make_reasons(shop)
    db.session.commit()
    damaged = request_giving(shops[7], "damaged")
    too_big = request_giving(shops[42], "too_big")
    auth.login(support.email)

    sent = {}
    for code in ("damaged", "too_big"):
        with counted_queries() as statements:
            page = filtered(client, code)
        sent[code] = (numbers_on(page), statements)

    assert sent["damaged"][0] == {damaged.number}
    assert sent["too_big"][0] == {too_big.number}
    assert sent["damaged"][1] == sent["too_big"][1]
    assert max(len(re.findall(r"%\(\w+\)s", sql)) for sql in sent["damaged"][1]) <= 50
