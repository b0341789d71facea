"""The product image (or the neutral placeholder) beside each item beyond the items step: on
the review page before submitting and on the status page after. Only a web address is shown:
a ``javascript:`` address stored on a line gives the placeholder, never an image source."""

from __future__ import annotations

import re

from extensions import db
from factories import make_request
from portal_helpers import fill_until_review

SHIRT = "https://cdn.example/shirt.jpg"
SCRIPT = "javascript:alert(1)"


def thumbnails(page: str) -> list[str]:
    """Each item's picture in order: the image's address, or "placeholder"."""
    found = re.findall(r'<img src="([^"]*)"[^>]*class="portal-thumb|(portal-thumb-none)', page)
    return [source or "placeholder" for source, _ in found]


def review_page(client, order, reasons) -> str:
    both = {line.id: 1 for line in order.lines}
    fill_until_review(client, order, reasons, quantities=both)
    return client.get("/returns/demo/review").get_data(as_text=True)


def test_the_review_page_shows_the_image_beside_its_item_and_a_placeholder_without(
    client, order, reasons
):
    order.lines[0].image_url = SHIRT
    db.session.commit()

    page = review_page(client, order, reasons)

    assert thumbnails(page) == [SHIRT, "placeholder"]
    image = re.search(r'<img src="' + re.escape(SHIRT) + r'"[^>]*>', page).group(0)
    assert 'width="64" height="64"' in image and 'loading="lazy"' in image and 'alt=""' in image


def test_the_review_page_does_not_show_a_javascript_address(client, order, reasons):
    order.lines[0].image_url = SCRIPT
    db.session.commit()

    page = review_page(client, order, reasons)

    assert "javascript:" not in page
    assert thumbnails(page) == ["placeholder", "placeholder"]


def status_page(client, request) -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang=en"
    return client.get(path).get_data(as_text=True)


def test_the_status_page_shows_the_image_beside_its_item_and_a_placeholder_without(client, shop):
    request = make_request(shop, language="en")
    request.order.lines[0].image_url = SHIRT
    db.session.commit()

    assert thumbnails(status_page(client, request)) == [SHIRT, "placeholder"]


def test_the_status_page_does_not_show_a_javascript_address(client, shop):
    request = make_request(shop, language="en")
    request.order.lines[0].image_url = SCRIPT
    request.order.lines[1].image_url = SHIRT
    db.session.commit()

    page = status_page(client, request)

    assert "javascript:" not in page
    assert thumbnails(page) == ["placeholder", SHIRT]
