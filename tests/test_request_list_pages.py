"""The Requests list's pages past the first and its "Approve all concept" count, over HTTP."""

import re
from datetime import timedelta

from extensions import db
from factories import make_request, make_shop
from models import CONCEPT, utcnow
from web.admin import request_filters, requests


def numbers_on(client, **args) -> list[str]:
    page = client.get("/admin/requests/", query_string={"all": 1, **args}).get_data(as_text=True)
    return re.findall(r'class="col-number"><a href="[^"]*">([^<]+)</a>', page)


def test_every_page_lists_the_next_requests_newest_first(client, auth, shop, anna, monkeypatch):
    monkeypatch.setattr(requests.RequestView, "page_size", 2)
    now = utcnow()
    made = [make_request(shop) for _ in range(5)]
    for age, request in enumerate(made):
        request.created_at = now - timedelta(hours=age)
    made[2].created_at = made[1].created_at  # a tie is broken by the id, newest first
    make_request(make_shop("other", "Andere Winkel"))
    db.session.commit()
    auth.login("anna@example.com")

    newest_first = sorted(made, key=lambda r: (r.created_at, r.id), reverse=True)
    expected = [r.number for r in newest_first]
    pages = [numbers_on(client, page=page) for page in range(3)]
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]
    assert numbers_on(client, page=3) == []


def test_approve_all_concept_says_more_than_past_the_cap(client, auth, shop, anna, monkeypatch):
    for _ in range(4):
        make_request(shop, status=CONCEPT)
    db.session.commit()
    auth.login("anna@example.com")
    listing = client.get("/admin/requests/?all=1").get_data(as_text=True)
    assert "Approve all concept (4)" in listing
    monkeypatch.setattr(request_filters, "COUNT_CAP", 3)
    listing = client.get("/admin/requests/?all=1").get_data(as_text=True)
    assert "Approve all concept (more than 3)" in listing
