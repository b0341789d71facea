"""The shop's settings page: for the shop's admins and support, and the portal follows it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extensions import db
from factories import make_request, make_shop
from models import Shop

VALID = {
    "name": "Zomer Mode",
    "logo_url": "https://cdn.example.com/logo.png",
    "brand_color": "#ff6600",
    "languages": ["nl", "en"],
    "default_language": "en",
    "return_window_days": "60",
    "withdrawal_window_days": "30",
    "offered_resolutions": ["refund", "exchange"],
    "free_shipping_resolutions": ["exchange", "refund"],
    "return_fee": "3.50",
    "return_address_name": "Zomer Mode Retouren",
    "return_address_street": "Havenweg 1",
    "return_address_postcode": "1234 AB",
    "return_address_city": "Utrecht",
    "return_address_country": "nl",
    "notification_email": "Retour@Zomer.example.com",
    "time_zone": "Europe/Amsterdam",
}


@pytest.fixture
def shops(shop_staff):
    """The demo shop with its ``shop_staff``, and another shop they do not work for."""
    other = make_shop("other", "Andere Winkel")
    db.session.commit()
    return shop_staff.shop, other


def settings_url(shop: Shop) -> str:
    return f"/admin/shop_settings/{shop.id}"


def test_shop_admin_saves_settings_and_the_portal_follows_at_once(client, auth, shops):
    demo, _other = shops
    auth.login("admin@example.com")
    assert client.get("/admin/shop_settings/").location.endswith(settings_url(demo))
    response = client.post(settings_url(demo), data=VALID)
    assert response.status_code == 302
    db.session.refresh(demo)
    assert (demo.name, demo.brand_color, demo.default_language) == ("Zomer Mode", "#ff6600", "en")
    assert (demo.return_window_days, demo.withdrawal_window_days) == (60, 30)
    assert (demo.offered_resolutions, demo.free_shipping_resolutions) == (
        "refund,exchange",
        "refund,exchange",
    )
    assert demo.return_fee_cents == 350
    assert (demo.return_address_country, demo.notification_email) == (
        "NL",
        "retour@zomer.example.com",
    )
    portal = client.get("/returns/demo/", headers={"Accept-Language": "en"})
    assert b"--brand: #ff6600" in portal.data
    assert b'alt="Zomer Mode"' in portal.data


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("brand_color", "red", b"Use a colour like #1a2b3c."),
        ("withdrawal_window_days", "7", b"Number must be between 14 and 365."),
        ("offered_resolutions", [], b"Choose at least one."),
        ("languages", ["nl"], b"The default language must be one of the portal"),
        ("notification_email", "not-an-address", b"Invalid email address."),
        ("return_fee", "-1", b"Number must be between 0 and 1000."),
    ],
)
def test_invalid_settings_are_refused_next_to_the_field(client, auth, shops, field, value, error):
    demo, _other = shops
    auth.login("admin@example.com")
    response = client.post(settings_url(demo), data={**VALID, field: value})
    assert response.status_code == 200
    assert error in response.data
    db.session.refresh(demo)
    assert demo.name == "Demo Winkel"


def test_shop_admin_cannot_open_another_shops_settings(client, auth, shops):
    _demo, other = shops
    auth.login("admin@example.com")
    assert client.get(settings_url(other)).status_code == 404
    assert client.post(settings_url(other), data=VALID).status_code == 404
    db.session.refresh(other)
    assert other.name == "Andere Winkel"


def test_agent_has_no_settings_page(client, auth, shops):
    demo, _other = shops
    auth.login("agent@example.com")
    assert client.get(settings_url(demo)).status_code == 403


def test_support_chooses_among_every_shop(client, auth, shops):
    _demo, other = shops
    auth.login("support@example.com")
    listing = client.get("/admin/shop_settings/")
    assert b"Demo Winkel" in listing.data and b"Andere Winkel" in listing.data
    assert client.get(settings_url(other)).status_code == 200


def test_times_are_shown_in_the_shops_time_zone(client, auth, shops):
    demo, _other = shops
    request = make_request(demo)
    request.created_at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    db.session.commit()
    auth.login("admin@example.com")
    assert "2026-01-15 13:00" in client.get(f"/admin/requests/{request.id}").text

    response = client.post(settings_url(demo), data={**VALID, "time_zone": "America/New_York"})
    assert response.status_code == 302

    assert "2026-01-15 07:00" in client.get(f"/admin/requests/{request.id}").text
    listing = client.get("/admin/requests/?all=1").text
    assert "2026-01-15 07:00" in listing


def test_an_unknown_time_zone_is_refused(client, auth, shops):
    demo, _other = shops
    auth.login("admin@example.com")
    response = client.post(settings_url(demo), data={**VALID, "time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    db.session.refresh(demo)
    assert demo.time_zone == "Europe/Amsterdam"
