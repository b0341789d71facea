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
    monkeypatch.setattr(request_filters, "COUNT_STEP", 3)
    listing = client.get("/admin/requests/?all=1").get_data(as_text=True)
    assert "Approve all concept (more than 3)" in listing


def test_previous_and_next_follow_the_list_through_equal_dates(client, auth, shop, anna):
    """The request page finds its neighbours by where it sits in the list: requests made at
    the same moment are ordered by id, newest first, exactly as the list shows them."""
    moment = utcnow()
    made = [make_request(shop, created_at=moment) for _ in range(3)]
    older = make_request(shop, created_at=moment - timedelta(hours=1))
    db.session.commit()
    auth.login("anna@example.com")
    listed = numbers_on(client)
    by_number = {r.number: r.id for r in [*made, older]}
    assert [by_number[n] for n in listed] == [*sorted(r.id for r in made)[::-1], older.id]

    for place, number in enumerate(listed):
        page = client.get(f"/admin/requests/{by_number[number]}?list=all%3D1").get_data(
            as_text=True
        )
        previous = re.search(r'id="previous-request"[^>]*href="/admin/requests/(\d+)', page)
        following = re.search(r'id="next-request"[^>]*href="/admin/requests/(\d+)', page)
        expected_previous = by_number[listed[place - 1]] if place else None
        expected_next = by_number[listed[place + 1]] if place + 1 < len(listed) else None
        assert (int(previous.group(1)) if previous else None) == expected_previous
        assert (int(following.group(1)) if following else None) == expected_next
