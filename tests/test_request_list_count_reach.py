"""How far the Requests list counts: a little past the page (``request_filters.count_cap``),
so page 1 of a long list is cheap, and yet the pager reaches every page one after another.
And, on PostgreSQL, the list's statements read the same whichever rows a page holds."""

from __future__ import annotations

import re

import pytest

from extensions import db
from factories import make_request
from query_counting import counted_queries
from web.admin import request_filters, requests

PAGE_LINK = re.compile(r'<a class="page-link" href="[^"]*page=(\d+)[^"]*">&gt;</a>')


def listing(client, **args) -> str:
    return client.get("/admin/requests/", query_string={"all": 1, **args}).get_data(as_text=True)


def next_page(page: str) -> int | None:
    """The page (0-based) the pager's "next" link leads to, if it offers one."""
    found = PAGE_LINK.search(page)
    return int(found.group(1)) if found else None


def test_page_one_says_more_than_and_the_pager_walks_on_to_the_last_page(
    client, auth, shop, anna, monkeypatch
):
    monkeypatch.setattr(request_filters, "COUNT_STEP", 4)
    monkeypatch.setattr(requests.RequestView, "page_size", 2)
    for _ in range(11):
        make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")

    first = listing(client)
    assert "2 of more than 4 requests are on this page." in first
    assert "List (more than 4)" in first

    seen, page, shown = 0, 0, None
    while page is not None:
        shown = listing(client, page=page)
        seen += len(re.findall(r'class="col-number"', shown))
        page = next_page(shown)
    assert seen == 11, "every request is reached through the pager's next links"
    assert "List (11)" in shown, "near the end the count is exact"


def test_every_page_size_divides_the_step_so_a_page_at_the_cap_offers_the_next():
    assert all(
        request_filters.COUNT_STEP % size == 0 for size in requests.RequestView.page_size_options
    )


def test_the_list_sends_the_same_statements_whichever_rows_it_shows(
    client, auth, shop, anna, monkeypatch
):
    """psycopg parses a statement once only when it has at most 50 parameters, and PostgreSQL
    prepares it only when its text repeats: the ids of a page are one array parameter."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no arrays; its IN lists are not parsed by psycopg")
    monkeypatch.setattr(requests.RequestView, "page_size", 50)
    pages = []
    for _ in range(2):  # the second time, 50 newer requests fill the page
        for _ in range(50):
            make_request(shop, notice_count=1)
        db.session.commit()
        auth.login("anna@example.com")
        with counted_queries() as statements:
            pages.append((statements, listing(client)))

    (first, first_page), (second, second_page) = pages
    assert re.findall(r'col-number"><a[^>]*>([^<]+)', first_page) != re.findall(
        r'col-number"><a[^>]*>([^<]+)', second_page
    )
    assert first == second
    assert max(len(re.findall(r"%\(\w+\)s", sql)) for sql in first) <= 50
