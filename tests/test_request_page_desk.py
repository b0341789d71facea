"""The request page as an agent's desk: "Approve and next" through the list the agent came from
(its filters, search and order), previous and next links that keep to that list and to the
agent's shops, and a colleague's hold shown at the top with "Take over"."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, CANCELLED, CONCEPT, NEW, ON_HOLD, ReturnRequest, utcnow


@pytest.fixture
def logged_in(client, auth, anna):
    db.session.commit()
    auth.login(anna.email)
    return client


def made(shop, *statuses: str, minutes_ago: int = 0, **fields) -> list[ReturnRequest]:
    """Requests of ``shop``, the first the newest (the list shows newest first)."""
    order = make_order(shop, lines=1)
    now = utcnow()
    rows = [
        make_request(
            shop,
            order,
            status=status,
            created_at=now - timedelta(minutes=minutes_ago + i),
            **fields,
        )
        for i, status in enumerate(statuses)
    ]
    db.session.commit()
    return rows


def page_of(client, request_id: int, list_query: str) -> str:
    answer = client.get(f"/admin/requests/{request_id}?{urlencode({'list': list_query})}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def link(page: str, element_id: str) -> str | None:
    found = re.search(rf'id="{element_id}"[^>]*href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def request_id_of(url: str) -> int:
    return int(re.match(r"/admin/requests/(\d+)", urlsplit(url).path).group(1))


def decide(client, request_id: int, action: str, list_query: str, **form):
    return client.post(
        f"/admin/requests/{request_id}/act",
        data={"action": action, "then": "next", "list": list_query, **form},
    )


def test_approve_and_next_walks_the_filtered_list_then_returns_to_it(logged_in, shop):
    first, second, third = made(shop, NEW, NEW, NEW)
    [concept] = made(shop, CONCEPT, minutes_ago=1)  # between them in time, not in the filter
    concept.created_at = second.created_at + timedelta(seconds=30)
    db.session.commit()
    wanted = "flt0_status=new"

    answer = decide(logged_in, first.id, "approve", wanted)
    assert answer.status_code == 302
    assert request_id_of(answer.headers["Location"]) == second.id
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["list"] == [wanted]

    answer = decide(logged_in, second.id, "cancel", wanted, reason="Buiten de termijn.")
    assert request_id_of(answer.headers["Location"]) == third.id

    answer = decide(logged_in, third.id, "approve", wanted)
    assert urlsplit(answer.headers["Location"]).path == "/admin/requests/"
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {"flt0_status": ["new"]}
    assert "That was the last request of the list." in logged_in.get(
        answer.headers["Location"]
    ).get_data(as_text=True)

    db.session.expire_all()
    statuses = [db.session.get(ReturnRequest, r.id).status for r in (first, second, third)]
    assert statuses == [APPROVED, CANCELLED, APPROVED]
    assert db.session.get(ReturnRequest, concept.id).status == CONCEPT


def test_a_refused_decision_stays_on_the_request(logged_in, shop):
    first, _second = made(shop, NEW, NEW)

    answer = decide(logged_in, first.id, "cancel", "flt0_status=new", reason="")

    assert request_id_of(answer.headers["Location"]) == first.id
    db.session.expire_all()
    assert db.session.get(ReturnRequest, first.id).status == NEW


def test_next_and_previous_keep_to_the_search_and_the_order(logged_in, shop):
    eva_new, other, eva_old = made(shop, NEW, NEW, NEW)
    people = (("Eva de Vries", "vries"), ("Bob Jansen", "bob"), ("Eva Smit", "smit"))
    for row, (name, mailbox) in zip((eva_new, other, eva_old), people, strict=True):
        row.customer_name, row.customer_email = name, f"{mailbox}@example.nl"
    db.session.commit()

    page = page_of(logged_in, eva_new.id, "flt0_status=open&search=Eva")
    assert link(page, "previous-request") is None
    assert request_id_of(link(page, "next-request")) == eva_old.id

    page = page_of(logged_in, eva_old.id, "flt0_status=open&search=Eva")
    assert request_id_of(link(page, "previous-request")) == eva_new.id
    assert link(page, "next-request") is None

    # Sorted by another column, the page follows the list's own order of the rows.
    for wanted in (
        "flt0_status=open&search=Eva&sort=0",
        "flt0_status=open&search=Eva&sort=0&desc=1",
    ):
        listed = listed_ids(logged_in, wanted)
        assert sorted(listed) == sorted([eva_new.id, eva_old.id])
        page = page_of(logged_in, listed[0], wanted)
        assert link(page, "previous-request") is None
        assert request_id_of(link(page, "next-request")) == listed[1]


def listed_ids(client, query: str) -> list[int]:
    """The request ids in the order the Requests list shows them."""
    page = client.get(f"/admin/requests/?{query}").get_data(as_text=True)
    return [
        int(found)
        for found in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', page)
    ]


def test_a_fashion_agent_never_gets_another_shops_request_as_next(client, auth, app):
    fashion = make_shop("fashion", "Fashion")
    demo = make_shop("demo", "Demo Winkel")
    make_user("femke@example.com", fashion, name="Femke")
    db.session.commit()
    newest, oldest = made(fashion, NEW, NEW)
    oldest.created_at = newest.created_at - timedelta(minutes=10)
    [between] = made(demo, NEW, minutes_ago=5)
    db.session.commit()
    auth.login("femke@example.com")

    for wanted in ("flt0_status=new", f"flt0_status=new&flt1_shop={demo.id}", "all=1"):
        page = page_of(client, newest.id, wanted)
        following = link(page, "next-request")
        assert following is None or request_id_of(following) == oldest.id, wanted
        assert f"/admin/requests/{between.id}" not in page

    answer = decide(client, newest.id, "approve", "flt0_status=new")
    assert request_id_of(answer.headers["Location"]) == oldest.id
    assert client.get(f"/admin/requests/{between.id}").status_code == 404


def test_a_crafted_list_stays_on_this_site(logged_in, shop):
    first, _second = made(shop, NEW, NEW)

    page = page_of(logged_in, first.id, "next=https://evil.example&flt0_status=new")
    answer = decide(logged_in, first.id, "approve", "//evil.example/?x=1")

    assert "evil.example" not in page
    assert answer.headers["Location"].startswith("/admin/requests/")
    assert "evil" not in answer.headers["Location"]


def test_a_colleagues_hold_shows_at_the_top_with_take_over(client, auth, shop):
    """A shop admin may take over any hold (workflow.may_take_over)."""
    bram = make_user("bram@example.com", shop, name="Bram")
    make_user("anna@example.com", shop, role="admin", name="Anna")
    since = utcnow() - timedelta(minutes=20)
    [held] = made(shop, ON_HOLD, held_by=bram, held_since=since, status_before_hold=NEW)
    auth.login("anna@example.com")

    page = page_of(client, held.id, "flt0_status=open")
    banner = re.search(r'<div[^>]*id="holder-banner".*?</div>', page, re.S).group(0)
    assert "Held by Bram since" in banner
    assert "Take over" in banner

    answer = client.post(
        f"/admin/requests/{held.id}/act", data={"action": "take_over", "list": "flt0_status=open"}
    )
    assert request_id_of(answer.headers["Location"]) == held.id
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="holder-banner"' not in page
    assert "Anna since" in page


def test_an_agent_sees_a_fresh_hold_without_take_over(client, auth, shop):
    bram = make_user("bram@example.com", shop, name="Bram")
    make_user("anna@example.com", shop, name="Anna")
    [held] = made(shop, ON_HOLD, held_by=bram, held_since=utcnow(), status_before_hold=NEW)
    auth.login("anna@example.com")

    page = page_of(client, held.id, "flt0_status=open")

    banner = re.search(r'<div[^>]*id="holder-banner".*?</div>', page, re.S).group(0)
    assert "Held by Bram since" in banner
    assert "Take over" not in banner


def test_the_dutch_page_speaks_dutch(client, auth, shop):
    make_user("anna@example.com", shop, name="Anna", language="nl")
    first, _second = made(shop, NEW, NEW)
    auth.login("anna@example.com")

    page = page_of(client, first.id, "flt0_status=new")

    for words in ("Goedkeuren en volgende", "Annuleren en volgende", "Volgende", "Sneltoetsen"):
        assert words in page
    assert "Approve and next" not in page


def test_the_lists_links_carry_the_list_to_the_request_page(logged_in, shop):
    [request] = made(shop, NEW)
    wanted = urlencode({"flt0_status": "new", "search": request.order_number})

    listing = logged_in.get(f"/admin/requests/?{wanted}").get_data(as_text=True)

    carried = urlencode({"list": wanted})
    assert f'href="/admin/requests/{request.id}?{carried}"' in listing
    assert f'href="/admin/requests/{request.id}?{carried}#cancel"' in listing
    page = page_of(logged_in, request.id, wanted)
    breadcrumb = f'href="/admin/requests/?{wanted.replace("&", "&amp;")}"'
    assert breadcrumb in page
