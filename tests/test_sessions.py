"""A session ends for good: a copied session cookie stops working after logout, a password
reset, a role change, removal from a shop and deactivation, as the user would expect."""

from __future__ import annotations

from extensions import db
from models import Membership, User
from staff_helpers import emails_to, link_in


def log_in(app, email: str):
    """A browser of its own, logged in as ``email``."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": email, "password": "secret-pw"})
    assert response.status_code == 302
    return browser


def copy_of_session(app, browser):
    """Another browser carrying a copy of ``browser``'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def reaches_admin(browser) -> bool:
    return browser.get("/admin/").status_code == 200


def membership_of(user: User) -> Membership:
    return db.session.query(Membership).filter_by(user_id=user.id).one()


def test_a_copied_session_stops_working_after_logout(app, shop_staff):
    agent = log_in(app, "agent@example.com")
    thief = copy_of_session(app, agent)
    assert reaches_admin(thief)

    assert agent.post("/logout").status_code == 302

    assert not reaches_admin(agent)
    assert not reaches_admin(thief)


def test_logging_in_again_after_logout_works(app, shop_staff):
    agent = log_in(app, "agent@example.com")
    agent.post("/logout")
    again = log_in(app, "agent@example.com")
    assert reaches_admin(again)


def test_a_copied_session_stops_working_after_a_password_reset(app, shop_staff, smtp_sink):
    agent = log_in(app, "agent@example.com")
    thief = copy_of_session(app, agent)

    owner = app.test_client()
    owner.post("/password/forgot", data={"email": "agent@example.com"})
    link = link_in(emails_to(smtp_sink, "agent@example.com")[0])
    new_password = {"password": "a-long-password", "confirm": "a-long-password"}
    assert owner.post(link, data=new_password).status_code == 302

    assert not reaches_admin(thief)
    assert not reaches_admin(agent)
    login = {"email": "agent@example.com", "password": new_password["password"]}
    assert owner.post("/login", data=login).status_code == 302
    assert reaches_admin(owner)


def test_a_copied_session_stops_working_after_a_role_change(app, shop_staff):
    agent_user = shop_staff.agent
    agent = log_in(app, "agent@example.com")
    thief = copy_of_session(app, agent)

    admin = log_in(app, "admin@example.com")
    changed = admin.post(
        "/admin/team/role", data={"membership_id": membership_of(agent_user).id, "role": "admin"}
    )
    assert changed.status_code == 302

    assert not reaches_admin(thief)
    assert not reaches_admin(agent)
    assert reaches_admin(admin), "the admin who changed the role stays logged in"


def test_a_copied_session_stops_working_after_removal_from_the_shop(app, shop_staff):
    agent_user = shop_staff.agent
    agent = log_in(app, "agent@example.com")
    thief = copy_of_session(app, agent)

    admin = log_in(app, "admin@example.com")
    removed = admin.post("/admin/team/remove", data={"membership_id": membership_of(agent_user).id})
    assert removed.status_code == 302

    assert not reaches_admin(thief)
    assert not reaches_admin(agent)


def test_a_session_does_not_come_back_when_a_deactivated_user_is_activated_again(app, shop_staff):
    agent_user = shop_staff.agent
    agent = log_in(app, "agent@example.com")
    thief = copy_of_session(app, agent)
    support = log_in(app, "support@example.com")
    form = {"email": agent_user.email, "name": agent_user.name, "language": ""}

    support.post(f"/admin/users/edit/?id={agent_user.id}", data={**form, "active": ""})
    db.session.expire_all()
    assert db.session.get(User, agent_user.id).active is False
    assert not reaches_admin(thief)

    support.post(f"/admin/users/edit/?id={agent_user.id}", data={**form, "active": "y"})
    db.session.expire_all()
    assert db.session.get(User, agent_user.id).active is True

    assert not reaches_admin(thief)
    assert not reaches_admin(agent)
    assert reaches_admin(log_in(app, "agent@example.com"))
