"""A list's own links (its pages and sort columns) keep what the list is filtered and searched
by: they are written from the list's address and arguments (``BoundedModelView.get_url``)."""

from __future__ import annotations

import html
import re

from extensions import db
from factories import make_order, make_request
from web.admin import requests


def links(page: str, text: str) -> list[str]:
    found = re.findall(rf'href="([^"]+)"[^>]*>\s*{text}\s*<', page)
    return [html.unescape(href) for href in found]


def numbers_on(page: str) -> list[str]:
    return re.findall(r'class="col-number"><a href="[^"]*">([^<]+)</a>', page)


def test_the_next_page_and_a_sort_link_keep_the_filter_and_the_search(
    client, auth, shop, anna, monkeypatch
):
    monkeypatch.setattr(requests.RequestView, "page_size", 2)
    jansens = [
        make_request(shop, order=make_order(shop, customer_name=f"Eva Jansen {n}"))
        for n in range(3)
    ]
    make_request(
        shop, order=make_order(shop, customer_name="Eva Jansen cancelled"), status="cancelled"
    )
    make_request(shop, order=make_order(shop, customer_name="Bram de Vries"))
    db.session.commit()
    auth.login("anna@example.com")

    first = client.get("/admin/requests/?flt0_status=open&search=Eva Jansen").get_data(as_text=True)
    (next_page,) = links(first, "&gt;")
    assert next_page.startswith("/admin/requests/?")
    second = client.get(next_page).get_data(as_text=True)
    listed = numbers_on(first) + numbers_on(second)
    assert sorted(listed) == sorted(r.number for r in jansens)

    (by_customer,) = links(first, "Customer")
    assert "search=Eva+Jansen" in by_customer and "flt0_status=open" in by_customer
    sorted_page = client.get(by_customer).get_data(as_text=True)
    assert numbers_on(sorted_page) == [jansens[0].number, jansens[1].number]
