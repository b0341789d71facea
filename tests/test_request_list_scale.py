"""The Requests list at scale: indexed search, capped counts, bulk emails rendered at delivery."""

from sqlalchemy import select

from domain import workflow
from extensions import db
from factories import make_order, make_request, make_shop
from models import CONCEPT, OutboundEmail
from web.admin import request_filters, requests


def listing(client, **args) -> str:
    return client.get("/admin/requests/", query_string={"all": 1, **args}).get_data(as_text=True)


def test_search_finds_name_and_email_pieces_and_a_lowercase_request_number(
    client, auth, shop, anna
):
    order = make_order(
        shop, customer_email="Joris.Peeters@Example.be", customer_name="Joris van Peeters"
    )
    request = make_request(shop, order=order)
    other = make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    terms = ("van peet", "oris", "s.peeters@exa", "joris.peeters@example.be", "joris.PEE")
    for term in (*terms, request.number.lower()):
        page = listing(client, search=term)
        assert request.number in page and other.number not in page, term


def test_search_wildcards_are_taken_literally(client, auth, shop, anna):
    request = make_request(shop, order=make_order(shop, customer_name="Eva 100% de Vries"))
    other = make_request(shop, order=make_order(shop, customer_name="Eva 1000 de Vries"))
    db.session.commit()
    auth.login("anna@example.com")
    page = listing(client, search="100%")
    assert request.number in page and other.number not in page


def test_a_list_longer_than_the_cap_says_more_than(client, auth, shop, anna, monkeypatch):
    monkeypatch.setattr(request_filters, "COUNT_STEP", 3)
    monkeypatch.setattr(requests.RequestView, "page_size", 2)
    for _ in range(5):
        make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    page = listing(client)
    assert "List (more than 3)" in page
    assert "2 of more than 3 requests are on this page." in page
    assert "Select all requests matching this filter" in page
    monkeypatch.setattr(request_filters, "COUNT_STEP", 10)
    assert "List (5)" in listing(client)
    monkeypatch.setattr(request_filters, "COUNT_STEP", 3)
    assert "List (5)" in listing(client, search="Eva"), "a search is counted exactly"


def test_a_search_counts_its_matches_on_every_page(client, auth, shop, anna, monkeypatch):
    monkeypatch.setattr(requests.RequestView, "page_size", 2)
    other_shop = make_shop("other", "Andere Winkel")
    for name in ("Eva Jansen", "Bram Jansen", "Lotte Jansen-Smit", "Eva de Vries"):
        make_request(shop, order=make_order(shop, customer_name=name))
    make_request(other_shop, order=make_order(other_shop, customer_name="Eva Jansen"))
    db.session.commit()
    auth.login("anna@example.com")

    assert "List (3)" in listing(client, search="jansen")
    last_page = listing(client, search="jansen", page=1)
    assert "List (3)" in last_page and "1 of 3 requests are on this page." in last_page
    assert "List (3)" in listing(client, search="jansen", page=5), "a page past the last"
    nothing = listing(client, search="Nobody Here")
    assert "There are no items in the table." in nothing and "List (" not in nothing


def test_bulk_approve_writes_one_outbox_row_each_and_sends_them_rendered(shop, anna, smtp_sink):
    requests = [make_request(shop, status=CONCEPT) for _ in range(3)]
    db.session.commit()
    workflow.bulk_apply("approve", [r.id for r in requests], anna)
    db.session.commit()
    rows = db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert len(rows) == 3
    for request, row in zip(requests, rows, strict=True):
        db.session.refresh(row)
        assert row.status == "sent"
        assert request.number in row.subject and request.number in row.body_text
        (message,) = smtp_sink.to(request.customer_email)
        assert request.number in message["Subject"]
