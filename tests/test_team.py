"""The Team page: invitations, role changes, removal, and who may do them for which shop."""

from __future__ import annotations

import pytest

from extensions import db
from factories import make_shop, make_user
from models import Membership, User
from staff_helpers import emails_to, link_in


@pytest.fixture
def demo(app):
    """Shop "demo" with an admin and an agent; shop "fashion" with its own admin and agent."""
    shop = make_shop()
    other = make_shop("fashion", "Mode Huis")
    people = {
        "admin": make_user("admin@example.com", shop, role="admin", name="Anna Admin"),
        "agent": make_user("agent@example.com", shop, name="Bram Agent"),
        "fashion_admin": make_user("admin@fashion.example.com", other, role="admin"),
        "fashion_agent": make_user("agent@fashion.example.com", other),
    }
    db.session.commit()
    return shop, other, people


def membership(user: User, shop) -> Membership | None:
    db.session.expire_all()
    return db.session.query(Membership).filter_by(user_id=user.id, shop_id=shop.id).one_or_none()


def invite(client, shop, email="new@example.com", role="agent", name="Noor Nieuw"):
    return client.post(
        "/admin/team/invite", data={"email": email, "name": name, "shop_id": shop.id, "role": role}
    )


def test_admin_invites_a_colleague_who_sets_a_password_and_sees_the_shop(
    client, auth, demo, smtp_sink
):
    shop, _, _ = demo
    auth.login("admin@example.com")
    assert invite(client, shop).status_code == 302
    assert b"Invitation sent to new@example.com" in client.get("/admin/team/").data
    auth.logout()

    [email] = emails_to(smtp_sink, "new@example.com")
    assert email["Subject"] == "Anna Admin invited you to Demo Winkel on ReturnDesk"
    link = link_in(email)
    assert link.startswith("/invite/")
    assert b"new@example.com" in client.get(link).data
    done = client.post(link, data={"password": "noor-her-password", "confirm": "noor-her-password"})
    assert done.status_code == 302

    assert auth.login("new@example.com", "noor-her-password").status_code == 302
    assert b"Demo Winkel" in client.get("/admin/").data
    assert client.get(link).status_code == 410


def test_inviting_someone_with_an_account_adds_the_shop_and_says_log_in(
    client, auth, demo, smtp_sink
):
    shop, _, people = demo
    auth.login("admin@example.com")
    invite(client, shop, email="agent@fashion.example.com", role="admin")
    assert membership(people["fashion_agent"], shop).role == "admin"
    [email] = emails_to(smtp_sink, "agent@fashion.example.com")
    assert link_in(email) == "/login"


def test_inviting_a_member_again_shows_the_error_next_to_the_email_field(client, auth, demo):
    shop, _, _ = demo
    auth.login("admin@example.com")
    page = invite(client, shop, email="Agent@example.com")
    assert page.status_code == 200
    assert b'id="email-errors"' in page.data
    assert b"agent@example.com is already a member of Demo Winkel." in page.data


def test_invite_needs_a_valid_email_address(client, auth, demo):
    shop, _, _ = demo
    auth.login("admin@example.com")
    page = invite(client, shop, email="not-an-address")
    assert b'id="email-errors"' in page.data
    assert db.session.query(User).filter_by(email="not-an-address").count() == 0


def test_admin_changes_an_agent_into_an_admin(client, auth, demo):
    shop, _, people = demo
    auth.login("admin@example.com")
    agent = membership(people["agent"], shop)
    response = client.post("/admin/team/role", data={"membership_id": agent.id, "role": "admin"})
    assert response.status_code == 302
    assert membership(people["agent"], shop).role == "admin"


def test_the_last_admin_cannot_be_demoted(client, auth, demo):
    shop, _, people = demo
    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.login("support@example.com")
    admin = membership(people["admin"], shop)
    page = client.post("/admin/team/role", data={"membership_id": admin.id, "role": "agent"})
    assert b"A shop needs at least one admin." in page.data
    assert membership(people["admin"], shop).role == "admin"


def test_the_last_admin_cannot_be_removed(client, auth, demo):
    shop, _, people = demo
    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.login("support@example.com")
    admin = membership(people["admin"], shop)
    page = client.post("/admin/team/remove", data={"membership_id": admin.id})
    assert b"A shop needs at least one admin." in page.data
    assert membership(people["admin"], shop) is not None


def test_admin_cannot_remove_themselves(client, auth, demo):
    shop, _, people = demo
    make_user("second-admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    own = membership(people["admin"], shop)
    team_page = client.get("/admin/team/").data
    assert b'action="/admin/team/remove"' in team_page
    assert f'name="membership_id" value="{own.id}"'.encode() not in team_page
    page = client.post("/admin/team/remove", data={"membership_id": own.id})
    assert b"You cannot change or remove your own membership." in page.data
    assert membership(people["admin"], shop) is not None


def test_removed_agent_no_longer_sees_the_shop(client, auth, demo):
    shop, _, people = demo
    auth.login("admin@example.com")
    agent = membership(people["agent"], shop)
    done = client.post(
        "/admin/team/remove", data={"membership_id": agent.id}, follow_redirects=True
    )
    assert b"Bram Agent no longer has access to Demo Winkel." in done.data
    assert membership(people["agent"], shop) is None
    auth.logout()
    auth.login("agent@example.com")
    assert b"Demo Winkel" not in client.get("/admin/").data


def test_agent_cannot_open_the_team_page_or_invite(client, auth, demo):
    shop, _, _ = demo
    auth.login("agent@example.com")
    assert client.get("/admin/team/").status_code == 403
    assert invite(client, shop).status_code == 403
    assert db.session.query(User).filter_by(email="new@example.com").count() == 0
    assert b"/admin/team/" not in client.get("/admin/").data


def test_anonymous_visitor_is_sent_to_login(client, demo):
    response = client.get("/admin/team/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_admin_of_one_shop_cannot_see_or_change_another_shops_team(client, auth, demo):
    _shop, other, people = demo
    auth.login("admin@example.com")
    page = client.get("/admin/team/")
    assert b"agent@example.com" in page.data
    assert b"fashion.example.com" not in page.data
    assert b"Mode Huis" not in page.data

    theirs = membership(people["fashion_agent"], other)
    role = client.post("/admin/team/role", data={"membership_id": theirs.id, "role": "admin"})
    assert role.status_code == 404
    assert client.post("/admin/team/remove", data={"membership_id": theirs.id}).status_code == 404
    assert membership(people["fashion_agent"], other).role == "agent"

    refused = invite(client, other)
    assert b'id="shop_id-errors"' in refused.data
    assert db.session.query(User).filter_by(email="new@example.com").count() == 0


def test_support_manages_every_shops_team(client, auth, demo):
    _, other, people = demo
    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.login("support@example.com")
    page = client.get("/admin/team/")
    assert b"Demo Winkel" in page.data and b"Mode Huis" in page.data
    theirs = membership(people["fashion_agent"], other)
    client.post("/admin/team/role", data={"membership_id": theirs.id, "role": "admin"})
    assert membership(people["fashion_agent"], other).role == "admin"
