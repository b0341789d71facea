"""Integration > Shop platforms: a shop admin connects Shopify beside WooCommerce. The token
and app secret are kept encrypted and never shown again, "Test connection" (a cheap
``shop { name }``) says what failed, and the sync's outcome shows."""

from __future__ import annotations

from sqlalchemy import select, update

from extensions import db
from models import ShopConnection, User
from shopify_standin import ACCESS_TOKEN, APP_SECRET, shopify_order


def page_url(shop) -> str:
    return f"/admin/shop_connections/{shop.id}"


def form(domain: str, **changes) -> dict:
    fields = {
        "shop_domain": domain,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "restock_on_refund": "y",
        **changes,
    }
    return {f"shopify-{name}": value for name, value in fields.items()}


def save(client, shop, domain: str, **changes):
    return client.post(f"{page_url(shop)}/shopify", data=form(domain, **changes))


def test_admin_saves_shopify_encrypted_and_never_sees_the_secrets_again(
    client, auth, shop_staff, shopify
):
    url, state = shopify
    auth.login("admin@example.com")
    assert save(client, shop_staff.shop, url).status_code == 302
    credentials, secret = db.session.execute(
        select(ShopConnection.credentials, ShopConnection.webhook_secret).where(
            ShopConnection.platform == "shopify"
        )
    ).one()
    assert ACCESS_TOKEN not in credentials and APP_SECRET not in secret
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert "The Shopify connection of" in page
    assert ACCESS_TOKEN not in page and APP_SECRET not in page
    assert page.count(">saved<") == 2
    assert "http://returndesk.test/connectors/demo/shopify/orders" in page
    tested = client.post(
        f"{page_url(shop_staff.shop)}/test", data={"platform": "shopify"}, follow_redirects=True
    )
    assert "The connection works: Shopify accepted the access token." in tested.get_data(
        as_text=True
    )
    assert [call[1] for call in state["calls"]] == ["shop"]


def test_a_shop_domain_is_completed_and_another_host_refused(client, auth, shop_staff):
    auth.login("admin@example.com")
    assert save(client, shop_staff.shop, "fenna-fashion").status_code == 302
    connection = db.session.scalar(select(ShopConnection))
    assert connection.base_url == "https://fenna-fashion.myshopify.com"
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert 'value="fenna-fashion.myshopify.com"' in page
    refused = save(client, shop_staff.shop, "https://shop.example")
    assert "myshopify.com domain" in refused.get_data(as_text=True)


def test_the_first_save_needs_the_token(client, auth, shop_staff, shopify):
    auth.login("admin@example.com")
    response = save(client, shop_staff.shop, shopify[0], access_token="")
    assert response.status_code == 200
    assert "Enter it once" in response.get_data(as_text=True)
    assert db.session.scalar(select(ShopConnection)) is None


def test_test_connection_names_a_wrong_token(client, auth, shop_staff, shopify):
    auth.login("admin@example.com")
    save(client, shop_staff.shop, shopify[0], access_token="shpat_wrong")
    response = client.post(
        f"{page_url(shop_staff.shop)}/test", data={"platform": "shopify"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "The connection does not work: HTTP 401" in page
    assert "Shopify refused the access token" in page


def test_the_page_shows_the_last_shopify_sync(client, auth, shop_staff, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(n) for n in range(1, 5)]
    auth.login("admin@example.com")
    save(client, shop_staff.shop, url)
    page = client.post(
        f"{page_url(shop_staff.shop)}/sync", data={"platform": "shopify"}, follow_redirects=True
    )
    text = page.get_data(as_text=True)
    assert "Succeeded" in text and "4 orders" in text


def test_an_unknown_platform_is_not_found(client, auth, shop_staff):
    auth.login("admin@example.com")
    response = client.post(f"{page_url(shop_staff.shop)}/test", data={"platform": "magento"})
    assert response.status_code == 404


def test_the_shopify_section_speaks_dutch(client, auth, shop_staff):
    db.session.execute(update(User).where(User.email == "admin@example.com").values(language="nl"))
    db.session.commit()
    auth.login("admin@example.com")
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    assert "Winkeldomein" in page and "App-geheim" in page
