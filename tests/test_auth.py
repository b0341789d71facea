"""Staff login, lockout, rate limit, password reset, language, cookies and CSRF."""

from __future__ import annotations

import re
import time

import pytest
from flask_babel import refresh
from itsdangerous.timed import TimestampSigner

from app import create_app
from extensions import db
from factories import make_shop, make_user
from harness import app_config, client_at
from models import User, utcnow
from staff_helpers import csrf_token_in, emails_to, link_in

NEUTRAL = b"Unknown email address or wrong password."


def alert(response) -> bytes:
    return re.search(rb'<div class="alert[^>]*>(.*?)</div>', response.data, re.S).group(1)


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/admin/orders/", "/admin/orders/"),
        ("http://localhost/admin/orders/", "/admin/orders/"),  # this host: kept as a path
        ("https://evil.example/phish", "/admin/"),
        ("//evil.example/phish", "/admin/"),
        ("/\\evil.example", "/admin/"),
    ],
)
def test_login_follows_next_only_within_this_site(client, next_url, lands_on):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    response = client.post(
        "/login", data={"email": "agent@example.com", "password": "secret-pw", "next": next_url}
    )
    assert response.status_code == 302
    assert response.location == lands_on


def test_login_page_keeps_next_from_the_url(client):
    page = client.get("/login?next=/admin/orders/")
    assert b'value="/admin/orders/"' in page.data


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    wrong = auth.login("agent@example.com", "wrong-password")
    unknown = auth.login("nobody@example.com", "wrong-password")
    assert NEUTRAL in wrong.data
    assert alert(wrong) == alert(unknown)


def log_in(browser, email: str, password: str = "secret-pw"):
    return browser.post("/login", data={"email": email, "password": password})


def test_five_wrong_passwords_stop_that_address_even_for_the_right_one(client, auth):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    for _ in range(5):
        assert NEUTRAL in auth.login("agent@example.com", "wrong-password").data
    refused = auth.login("agent@example.com")
    assert refused.status_code == 429
    assert b"Please try again in 15 minutes." in refused.data
    assert not logged_in(client)


def test_a_stranger_guessing_a_password_cannot_lock_the_agent_out(app, client):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    stranger = client_at(app, "203.0.113.7")

    answers = [log_in(stranger, "agent@example.com", f"guess-{n}").status_code for n in range(10)]

    assert answers == [200] * 5 + [429] * 5
    agent = client_at(app, "198.51.100.23")
    assert log_in(agent, "agent@example.com").status_code == 302
    assert logged_in(agent)
    assert log_in(stranger, "agent@example.com").status_code == 429
    assert not logged_in(stranger)


def test_guessing_from_many_addresses_slows_the_account_down_for_seconds_not_a_lock(app, client):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    for attempt in range(1, 60):
        refused = log_in(client_at(app, f"203.0.113.{attempt}"), "agent@example.com", "guess")
        if refused.status_code == 429:
            break
    assert attempt > 10, "the first ten failures from anywhere are not slowed down"
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert wait < 60 and b" second" in refused.data and b"minute" not in refused.data

    time.sleep(wait + 1)

    assert log_in(client_at(app, "198.51.100.23"), "agent@example.com").status_code == 302


def test_failures_below_the_limit_are_forgotten_after_a_good_login(client, auth):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    for _ in range(4):
        auth.login("agent@example.com", "wrong-password")
    auth.login("agent@example.com")
    auth.logout()
    auth.login("agent@example.com", "wrong-password")
    assert auth.login("agent@example.com").status_code == 302


def test_too_many_logins_from_one_address_get_a_friendly_429(client, auth):
    for n in range(20):
        assert auth.login(f"nobody{n}@example.com", "wrong-password").status_code == 200
    response = auth.login("nobody@example.com", "wrong-password")
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    assert b"<html" in response.data
    assert client.get("/login").status_code == 200


def test_password_reset_by_email_works_once(client, auth, smtp_sink):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    page = client.get("/login")
    assert b'href="/password/forgot"' in page.data

    answer = client.post(
        "/password/forgot", data={"email": "Agent@Example.com"}, follow_redirects=True
    )
    assert b"we have sent it a link" in answer.data
    [email] = emails_to(smtp_sink, "agent@example.com")
    assert email["Subject"] == "Choose a new password for ReturnDesk"
    link = link_in(email)

    assert b"agent@example.com" in client.get(link).data
    short = client.post(link, data={"password": "short", "confirm": "short"})
    assert b"Use at least 10 characters." in short.data
    differ = client.post(link, data={"password": "a-long-password", "confirm": "another-one"})
    assert b"The passwords differ." in differ.data

    done = client.post(link, data={"password": "a-long-password", "confirm": "a-long-password"})
    assert done.status_code == 302
    assert NEUTRAL in auth.login("agent@example.com").data
    assert auth.login("agent@example.com", "a-long-password").status_code == 302
    auth.logout()

    again = client.get(link)
    assert again.status_code == 410
    assert b"This link no longer works" in again.data


def test_reset_for_unknown_email_answers_the_same_and_sends_nothing(client, smtp_sink):
    known = make_user("agent@example.com", make_shop())
    db.session.commit()
    answer_known = client.post("/password/forgot", data={"email": known.email})
    answer_unknown = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert answer_unknown.status_code == answer_known.status_code == 302
    flashed_unknown = client.get("/login").data
    assert b"If nobody@example.com belongs to an account" in flashed_unknown
    assert emails_to(smtp_sink, "nobody@example.com") == []


def test_reset_link_expires_after_an_hour(client, smtp_sink, monkeypatch):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    client.post("/password/forgot", data={"email": "agent@example.com"})
    link = link_in(emails_to(smtp_sink, "agent@example.com")[0])
    an_hour_later = int(utcnow().timestamp()) + 3601
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: an_hour_later)
    assert client.get(link).status_code == 410


def test_reset_unlocks_a_locked_account(client, auth, smtp_sink):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    for _ in range(5):
        auth.login("agent@example.com", "wrong-password")
    client.post("/password/forgot", data={"email": "agent@example.com"})
    link = link_in(emails_to(smtp_sink, "agent@example.com")[0])
    client.post(link, data={"password": "a-long-password", "confirm": "a-long-password"})
    assert auth.login("agent@example.com", "a-long-password").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(client, auth):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    cookie = auth.login("agent@example.com").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_language_switch_on_the_login_page_changes_the_page_language(client):
    english = client.get("/login", headers={"Accept-Language": "en"})
    assert b'<html lang="en">' in english.data
    assert b'value="nl"' in english.data and b"Nederlands" in english.data
    switched = client.post("/language", data={"lang": "nl", "next": "/password/forgot"})
    assert switched.location == "/password/forgot"
    refresh()  # the fixture's app context outlives requests; a real request starts fresh
    dutch = client.get("/login", headers={"Accept-Language": "en"})
    assert b'<html lang="nl">' in dutch.data


def test_account_page_stores_language_and_notification_choice(client, auth):
    user = make_user("agent@example.com", make_shop())
    db.session.commit()
    auth.login("agent@example.com")
    page = client.get("/account", headers={"Accept-Language": "en"})
    assert b'<html lang="en">' in page.data
    assert b"Email me about new requests" in page.data

    client.post("/account", data={"language": "nl", "notify_new_requests": "y"})
    refresh()  # the fixture's app context outlives requests; a real request starts fresh
    saved = client.get("/account")
    assert b'<html lang="nl">' in saved.data
    db.session.refresh(user)
    assert (user.language, user.notify_new_requests) == ("nl", True)

    client.post("/account", data={"language": "en"})
    db.session.refresh(user)
    assert (user.language, user.notify_new_requests) == ("en", False)


def test_account_page_needs_login(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Faccount"
    assert b"Please log in to see this page." in client.get(response.location).data


@pytest.fixture
def csrf_client(app, migrated, smtp_sink, tmp_path):
    """A client of the app as deployed: CSRF protection on."""
    config = app_config(migrated, smtp_sink, tmp_path / "storage-csrf")
    config["WTF_CSRF_ENABLED"] = True
    return create_app(config).test_client()


def csrf_login(client, email: str) -> str:
    """Log in through the real form; returns a valid CSRF token of the session."""
    token = csrf_token_in(client.get("/login").data)
    response = client.post(
        "/login", data={"email": email, "password": "secret-pw", "csrf_token": token}
    )
    assert response.status_code == 302
    return token


def test_login_without_csrf_token_is_refused(csrf_client):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    response = csrf_client.post(
        "/login", data={"email": "agent@example.com", "password": "secret-pw"}
    )
    assert response.status_code == 400


def test_logout_without_csrf_token_is_refused(csrf_client):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    token = csrf_login(csrf_client, "agent@example.com")
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/admin/").status_code == 200
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert csrf_client.get("/admin/").status_code == 302


def test_invite_without_csrf_token_is_refused(csrf_client):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    csrf_login(csrf_client, "admin@example.com")
    response = csrf_client.post(
        "/admin/team/invite",
        data={"email": "new@example.com", "shop_id": shop.id, "role": "agent"},
    )
    assert response.status_code == 400
    assert db.session.query(User).filter_by(email="new@example.com").count() == 0
