"""The demo shop's admin opens the shop's settings and saves them unchanged: they save.

The seed once gave its shops a data: URI as logo, which the settings form refused ("Invalid
URL"), so no setting of a demo shop could be changed. A logo is an address a browser and a
mail reader can load: a full http(s) URL, or a path on this site such as ``/static/…``.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from demo import seeding
from domain import email_context
from extensions import db, limiter
from models import Shop


class FormValues(HTMLParser):
    """What a browser would post for the page's form as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        name = attr.get("name")
        if tag == "input" and name and attr.get("type") not in ("submit", "button"):
            if attr.get("type") in ("checkbox", "radio") and "checked" not in attr:
                return
            self.values.append((name, attr.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attr:
            self.values.append((self._select, attr.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_values(html: str) -> list[tuple[str, str]]:
    parser = FormValues()
    parser.feed(html)
    return parser.values


@pytest.fixture
def demo_shop(app) -> Shop:
    seeding.seed()
    db.session.commit()
    limiter.reset()
    return db.session.scalar(select(Shop).where(Shop.slug == "demo"))


def test_the_demo_admin_saves_the_demo_shops_settings_unchanged(client, demo_shop):
    client.post("/login", data={"email": "admin@example.com", "password": seeding.PASSWORD})
    url = f"/admin/shop_settings/{demo_shop.id}"
    page = client.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    values = form_values(page.get_data(as_text=True))
    assert ("logo_url", demo_shop.logo_url) in values

    saved = client.post(url, data=MultiDict(values), headers={"Accept-Language": "en"})

    assert saved.status_code == 302, saved.get_data(as_text=True)
    shown = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"The settings of {demo_shop.name} were saved." in shown
    assert "Invalid URL" not in shown


def test_the_demo_logo_is_served_from_this_site(client, demo_shop):
    assert demo_shop.logo_url.startswith("/static/")
    logo = client.get(demo_shop.logo_url)
    assert logo.status_code == 200
    assert logo.mimetype == "image/svg+xml"


SETTINGS = {
    "name": "Zomer Mode",
    "brand_color": "#ff6600",
    "languages": ["nl", "en"],
    "default_language": "en",
    "return_window_days": "60",
    "withdrawal_window_days": "30",
    "offered_resolutions": ["refund"],
    "return_fee": "3.50",
    "return_address_country": "NL",
    "time_zone": "Europe/Amsterdam",
}


@pytest.mark.parametrize(
    "logo", ["/static/demo/logo-demo.svg", "https://cdn.example.com/logo.png", "http://shop.test/l"]
)
def test_a_logo_on_this_site_or_a_web_address_is_saved(client, auth, shop_staff, logo):
    auth.login("admin@example.com")
    shop = shop_staff.shop
    saved = client.post(f"/admin/shop_settings/{shop.id}", data={**SETTINGS, "logo_url": logo})
    assert saved.status_code == 302
    db.session.refresh(shop)
    assert shop.logo_url == logo


@pytest.mark.parametrize(
    "logo",
    [
        "javascript:alert(1)",
        "data:image/svg+xml,%3Csvg%3E",
        "//evil.example.com/logo.png",
        "/\\evil.example.com/logo.png",
        "ftp://cdn.example.com/logo.png",
        "https://cdn.example.com/my logo.png",
        "http://[::1",
        "logo.png",
    ],
)
def test_any_other_logo_address_is_refused_next_to_the_field(client, auth, shop_staff, logo):
    auth.login("admin@example.com")
    shop = shop_staff.shop
    refused = client.post(
        f"/admin/shop_settings/{shop.id}",
        data={**SETTINGS, "logo_url": logo},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 200
    assert "Use a full address (https://…) or a path like /static/logo.png." in refused.get_data(
        as_text=True
    )


def test_an_email_carries_a_logo_on_this_site_as_a_full_address(app, shop):
    shop.logo_url = "/static/demo/logo-demo.svg"
    assert email_context.shop_data(shop).logo_url == (
        app.config["PUBLIC_URL"] + "/static/demo/logo-demo.svg"
    )
