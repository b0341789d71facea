"""An approval is with or without the items kept; an earlier "keep the items" never lingers.

Before, bulk approval left ``keep_items`` as it was, and reopening a request cancelled after a
keep-the-items approval kept the flag: the next plain approval told the customer to keep the
items and offered no label.
"""

from __future__ import annotations

from extensions import db
from factories import make_request, make_user
from harness import visible
from models import APPROVED, CANCELLED, NEW


def status_page(client, request) -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang=en"
    return visible(client.get(path).get_data(as_text=True))


def test_a_bulk_approval_is_one_with_a_label(desk):
    request = make_request(desk.shop, status=NEW, keep_items=True, language="en")
    db.session.commit()

    desk.bulk(request, "approve")

    db.session.refresh(request)
    assert (request.status, request.keep_items) == (APPROVED, False)
    page = status_page(desk.client, request)
    assert "Create return label" in page
    assert "you may keep the items" not in page


def test_reopening_forgets_an_earlier_keep_the_items(client, auth, shop):
    make_user("admin@example.com", shop, role="admin")
    request = make_request(shop, status=CANCELLED, keep_items=True, cancel_reason="Changed mind")
    db.session.commit()
    auth.login("admin@example.com")

    client.post(f"/admin/requests/{request.id}/act", data={"action": "reopen"})

    db.session.refresh(request)
    assert (request.status, request.keep_items) == (NEW, False)
