"""What every staff page shares, kept cheap without showing anyone more or less: the menu
(rendered once per set of reachable views, web.admin.menu) still follows a role changed a
moment ago and the reader's language, and the request page's bell (counted with the reading
of its entries, notifications.read_request_and_count) still says what is left unread."""

from __future__ import annotations

import re

import pytest

from extensions import db
from factories import make_request
from models import NOTIFY_CUSTOMER_REPLY, AuditEvent, Membership, Notification, User
from query_counting import counted_queries

BELL = re.compile(r'id="notification-bell"[^>]*aria-label="([^"]+)"', re.S)


def menu(client) -> str:
    """The navbar's menu on the dashboard."""
    page = client.get("/admin/").get_data(as_text=True)
    return re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul', page, re.S).group(1)


def set_role(email: str, role: str) -> None:
    membership = db.session.query(Membership).join(User).filter(User.email == email).one()
    membership.role = role
    db.session.commit()


def test_the_menu_drops_team_as_soon_as_the_admin_is_made_an_agent_and_brings_it_back(
    client, auth, shop_staff
):
    auth.login("admin@example.com")
    assert 'href="/admin/team/"' in menu(client)

    set_role("admin@example.com", "agent")
    assert 'href="/admin/team/"' not in menu(client)
    assert client.get("/admin/team/").status_code == 403

    set_role("admin@example.com", "admin")
    assert 'href="/admin/team/"' in menu(client)


def test_agent_and_support_each_see_their_own_menu_in_turn(app, shop_staff):
    agent, support = app.test_client(), app.test_client()
    agent.post("/login", data={"email": "agent@example.com", "password": "secret-pw"})
    support.post("/login", data={"email": "support@example.com", "password": "secret-pw"})

    for _ in range(2):
        assert 'href="/admin/shops/"' not in menu(agent)
        assert 'href="/admin/shops/"' in menu(support)


def test_the_menu_speaks_the_language_the_user_just_chose(client, auth, shop_staff):
    auth.login("agent@example.com")
    assert "Requests" in menu(client)

    shop_staff.agent.language = "nl"
    db.session.commit()

    assert "Aanvragen" in menu(client) and "Requests" not in menu(client)


def told(user: User, req, times: int = 1) -> None:
    """``user`` is told ``times`` times that the customer replied on ``req``."""
    for _ in range(times):
        event = AuditEvent(request_id=req.id, shop_id=req.shop_id, action="customer_reply")
        db.session.add(event)
        db.session.flush()
        db.session.add(
            Notification(
                user_id=user.id,
                request_id=req.id,
                audit_event_id=event.id,
                kind=NOTIFY_CUSTOMER_REPLY,
            )
        )
    db.session.commit()


@pytest.mark.parametrize("opened_twice", [False, True])
def test_the_request_pages_bell_counts_what_the_other_requests_left_unread(
    client, auth, shop_staff, opened_twice
):
    agent = shop_staff.agent
    first, second = make_request(shop_staff.shop), make_request(shop_staff.shop)
    told(agent, first, times=2)
    told(agent, second)
    auth.login("agent@example.com")
    if opened_twice:
        client.get(f"/admin/requests/{first.id}")

    page = client.get(f"/admin/requests/{first.id}").get_data(as_text=True)

    assert BELL.search(page).group(1) == "Notifications, 1 unread"
    unread = db.session.query(Notification).filter(Notification.read_at.is_(None)).all()
    assert [note.request_id for note in unread] == [second.id]
    page = client.get(f"/admin/requests/{second.id}").get_data(as_text=True)
    assert BELL.search(page).group(1) == "Notifications, none unread"


def test_the_request_page_of_a_colleagues_bell_counts_only_ones_own(client, auth, shop_staff):
    first = make_request(shop_staff.shop)
    told(shop_staff.admin, first)
    told(shop_staff.agent, make_request(shop_staff.shop))
    auth.login("agent@example.com")

    page = client.get(f"/admin/requests/{first.id}").get_data(as_text=True)

    assert BELL.search(page).group(1) == "Notifications, 1 unread"
    admins = db.session.query(Notification).filter_by(user_id=shop_staff.admin.id).one()
    assert admins.read_at is None


@pytest.mark.parametrize(
    ("email", "budget"),
    [
        # the login's user, the bell with the entries read, the request, its thread, its
        # stages, its history, the list's previous and next
        ("agent@example.com", 7),
        # and support's menu asks once whether there is any shop (Customer data, Team, …)
        ("support@example.com", 8),
    ],
)
def test_one_get_of_the_request_page_keeps_to_its_query_budget(
    client, auth, shop_staff, email, budget
):
    req = make_request(shop_staff.shop)
    told(shop_staff.agent, req)
    auth.login(email)
    client.get(f"/admin/requests/{req.id}")

    with counted_queries() as statements:
        answer = client.get(f"/admin/requests/{req.id}")

    assert answer.status_code == 200
    assert len(statements) <= budget, "\n".join(statements)
