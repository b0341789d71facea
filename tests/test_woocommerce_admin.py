"""Integration > Shop platforms: a shop admin connects WooCommerce. The keys are kept
encrypted and never shown again, "Test connection" says what failed, the page shows the last
sync; only the shop's admins and support reach it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask_babel import force_locale
from sqlalchemy import select, update

import models
from domain import statuses
from extensions import db
from factories import make_shop
from models import ShopConnection, User
from staff_helpers import csrf_token_in
from woocommerce_standin import CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET, woo_order


def page_url(shop) -> str:
    return f"/admin/shop_connections/{shop.id}"


def form(url: str, **changes) -> dict:
    return {
        "base_url": url,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        **changes,
    }


def stored_columns() -> tuple[str, str]:
    db.session.expire_all()
    return db.session.execute(
        select(ShopConnection.credentials, ShopConnection.webhook_secret)
    ).one()


def test_admin_saves_the_keys_encrypted_and_never_sees_them_again(
    client, auth, shop_staff, woocommerce
):
    url, _state = woocommerce
    auth.login("admin@example.com")
    assert client.get("/admin/shop_connections/").location.endswith(page_url(shop_staff.shop))
    response = client.post(page_url(shop_staff.shop), data=form(url))
    assert response.status_code == 302
    credentials, webhook_secret = stored_columns()
    for secret in (CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET):
        assert secret not in credentials and secret not in webhook_secret
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert "was saved" in page
    for secret in (CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET):
        assert secret not in page
    assert page.count(">saved<") == 3
    assert "http://returndesk.test/connectors/demo/woocommerce/orders" in page


def test_a_blank_secret_keeps_the_saved_one(client, auth, shop_staff, woocommerce):
    url, _state = woocommerce
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url))
    client.post(
        page_url(shop_staff.shop),
        data=form(url, consumer_key="", consumer_secret="", webhook_secret=""),
    )
    response = client.post(f"{page_url(shop_staff.shop)}/test", follow_redirects=True)
    assert "The connection works" in response.get_data(as_text=True)


def test_the_first_save_needs_both_keys(client, auth, shop_staff, woocommerce):
    url, _state = woocommerce
    auth.login("admin@example.com")
    response = client.post(page_url(shop_staff.shop), data=form(url, consumer_secret=""))
    assert response.status_code == 200
    assert "Enter it once" in response.get_data(as_text=True)
    assert db.session.scalar(select(ShopConnection)) is None


def test_test_connection_names_a_wrong_key(client, auth, shop_staff, woocommerce):
    url, _state = woocommerce
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url, consumer_secret="cs_wrong"))
    response = client.post(f"{page_url(shop_staff.shop)}/test", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The connection does not work: HTTP 401" in page
    assert "refused the consumer key or secret" in page


def test_a_private_address_is_refused_at_save(app, client, auth, shop_staff):
    auth.login("admin@example.com")
    response = client.post(page_url(shop_staff.shop), data=form("https://10.0.0.5"))
    assert "private network" in response.get_data(as_text=True)
    response = client.post(page_url(shop_staff.shop), data=form("http://shop.example"))
    assert "https://" in response.get_data(as_text=True)
    assert db.session.scalar(select(ShopConnection)) is None


def test_the_page_shows_the_last_sync(client, auth, shop_staff, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(n) for n in range(1, 5)]
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url))
    page = client.post(f"{page_url(shop_staff.shop)}/sync", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Succeeded" in text and "4 orders" in text


def test_a_failed_sync_shows_why(client, auth, shop_staff, woocommerce):
    url, _state = woocommerce
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url, consumer_secret="cs_wrong"))
    page = client.post(f"{page_url(shop_staff.shop)}/sync", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Failed" in text and "HTTP 401" in text


def test_agents_and_other_shops_admins_cannot_reach_it(client, auth, shop_staff):
    other = make_shop("other", "Andere Winkel")
    db.session.commit()
    auth.login("agent@example.com")
    assert client.get(page_url(shop_staff.shop)).status_code == 403
    auth.logout()
    auth.login("admin@example.com")
    assert client.get(page_url(other)).status_code == 404
    assert client.post(page_url(other), data=form("https://shop.example")).status_code == 404
    auth.logout()
    auth.login("support@example.com")
    assert client.get(page_url(other)).status_code == 200


def test_forms_carry_a_csrf_token(app, client, auth, shop_staff):
    auth.login("admin@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post(page_url(shop_staff.shop), data=form("https://shop.example"))
    assert refused.status_code == 400
    token = csrf_token_in(client.get(page_url(shop_staff.shop)).data)
    saved = client.post(
        page_url(shop_staff.shop), data={**form("https://shop.example"), "csrf_token": token}
    )
    assert saved.status_code == 302


def test_the_page_speaks_dutch(client, auth, shop_staff, woocommerce):
    url, _state = woocommerce
    db.session.execute(update(User).where(User.email == "admin@example.com").values(language="nl"))
    db.session.commit()
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url))
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert "Verbinding testen" in page and "Consumentengeheim" in page


@pytest.mark.parametrize("state", models.SYNC_STATES)
def test_every_sync_state_has_words_and_a_colour(app, state):
    assert state in statuses.SYNC_STATE_BADGES
    with force_locale("nl"):
        dutch = str(statuses.SYNC_STATE_LABELS[state])
    with force_locale("en"):
        assert dutch != str(statuses.SYNC_STATE_LABELS[state])


def test_saved_keys_no_configured_key_opens_are_asked_for_again(
    app, client, auth, shop_staff, woocommerce
):
    url, _state = woocommerce
    auth.login("admin@example.com")
    client.post(page_url(shop_staff.shop), data=form(url))
    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # the old key was dropped
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert ">saved<" not in page
    tested = client.post(f"{page_url(shop_staff.shop)}/test", follow_redirects=True)
    assert "cannot be decrypted" in tested.get_data(as_text=True)
