"""The Requests list as an agent's desk: the seed's "approve all concept" in one click, a bulk
form with only the fields its action needs, the page size kept, notices and search in words."""

from __future__ import annotations

import pytest

from extensions import db
from factories import make_order, make_request, make_shop
from models import APPROVED, CONCEPT, NEW, Notice, ReturnRequest


@pytest.fixture
def logged_in(client, auth, anna):
    db.session.commit()
    auth.login(anna.email)
    return client


def requests_in(shop, count: int, status: str) -> list[ReturnRequest]:
    order = make_order(shop, lines=1)
    made = [make_request(shop, order, status=status) for _ in range(count)]
    db.session.commit()
    return made


def listing(client, query: str = "?all=1") -> str:
    return client.get(f"/admin/requests/{query}").get_data(as_text=True)


def test_the_list_offers_to_approve_every_concept_request_in_one_go(logged_in, shop):
    concept = requests_in(shop, 3, CONCEPT)
    requests_in(shop, 2, NEW)
    elsewhere = make_shop("other", "Other")
    requests_in(elsewhere, 4, CONCEPT)

    page = listing(logged_in)
    assert "Approve all concept (3)" in page

    confirm = logged_in.get(
        "/admin/requests/bulk?scope=filter&flt0_status=concept&action=approve"
    ).get_data(as_text=True)
    assert "This applies to 3 requests." in confirm
    logged_in.post(
        "/admin/requests/bulk?scope=filter&flt0_status=concept&action=approve",
        data={"action": "approve"},
    )

    db.session.expire_all()
    assert {db.session.get(ReturnRequest, r.id).status for r in concept} == {APPROVED}
    assert db.session.query(ReturnRequest).filter_by(status=NEW).count() == 2
    assert db.session.query(ReturnRequest).filter_by(status=CONCEPT).count() == 4
    assert "Approve all concept" not in listing(logged_in)


def test_the_bulk_form_shows_only_what_the_chosen_action_needs(logged_in, shop):
    [request] = requests_in(shop, 1, NEW)

    cancel = logged_in.get(f"/admin/requests/bulk?ids={request.id}&action=cancel")
    approve = logged_in.get(f"/admin/requests/bulk?ids={request.id}&action=approve")
    unchosen = logged_in.get(f"/admin/requests/bulk?ids={request.id}")

    assert '<div class="form-group" data-for-action="cancel">' in cancel.get_data(as_text=True)
    assert '<div class="form-group" data-for-action="cancel" hidden>' in approve.get_data(
        as_text=True
    )
    assert '<div class="form-group" data-for-action="cancel">' in unchosen.get_data(as_text=True)


def test_the_page_size_survives_a_bulk_action(logged_in, shop):
    [request] = requests_in(shop, 1, NEW)

    answer = logged_in.post(
        f"/admin/requests/bulk?ids={request.id}&action=concept&page_size=100&flt0_status=open",
        data={"action": "concept"},
    )

    assert answer.status_code == 302
    assert "page_size=100" in answer.headers["Location"]
    assert "flt0_status=open" in answer.headers["Location"]


def test_the_notices_badge_says_its_notices_on_hover_and_focus(logged_in, shop):
    [request] = requests_in(shop, 1, NEW)
    db.session.add(
        Notice(request=request, severity="warning", text_nl="Hoge waarde", text_en="High value")
    )
    request.notice_count = 1
    db.session.commit()

    page = listing(logged_in)

    assert 'tabindex="0" title="High value" aria-label="Notices: High value"' in page


def test_the_search_box_names_its_fields_in_words(logged_in):
    page = listing(logged_in)

    search_box = page.split('name="search"')[1].split(">")[0]
    assert "customer_email" not in search_box
    assert 'placeholder="Search by name, email, order or request number"' in search_box
