"""The customer's label pages carry the shop's name, logo, colour and the request's language,
like the rest of the portal: the carrier choice, the label itself, the QR code and the page
of a request that has no label (yet)."""

from __future__ import annotations

import re

import pytest

from extensions import db
from factories import RETURN_ADDRESS, make_request
from return_flow import approved_request, run_jobs

LOGO = "https://cdn.example.com/demo-logo.png"
pytestmark = pytest.mark.shop(**RETURN_ADDRESS, brand_color="#aa3300", logo_url=LOGO)


def label_url(req, tail: str = "") -> str:
    return f"/returns/{req.shop.slug}/status/{req.public_token}/label{tail}"


def assert_branded(page: str, language: str) -> None:
    """The shop's header (logo named after the shop), its colour, and the request's language."""
    assert f'<html lang="{language}">' in page
    assert "--brand: #aa3300" in page
    assert re.search(rf'<img src="{re.escape(LOGO)}" alt="Demo Winkel" class="portal-logo">', page)
    assert "<title>" in page and "· Demo Winkel</title>" in page


@pytest.mark.parametrize(
    ("language", "heading"),
    [("nl", "Kies een vervoerder"), ("en", "Choose a carrier")],
)
def test_the_carrier_choice_is_the_shops_page_in_the_requests_language(
    client, shop, agent, language, heading
):
    req = approved_request(shop, agent, language=language)

    page = client.get(label_url(req)).get_data(as_text=True)

    assert_branded(page, language)
    assert heading in page


def test_the_label_and_its_qr_code_are_the_shops_pages(client, shop, agent):
    req = approved_request(shop, agent, language="nl")
    client.post(label_url(req), data={"carrier": "own"})
    run_jobs()

    label = client.get(label_url(req)).get_data(as_text=True)
    qr = client.get(label_url(req, "/qr")).get_data(as_text=True)

    assert_branded(label, "nl")
    assert "Label downloaden (pdf)" in label
    assert_branded(qr, "nl")
    assert label_url(req, "/qr.png") in qr


def test_a_request_without_a_label_yet_is_told_so_on_the_shops_page(client, shop):
    req = make_request(shop, language="en")
    db.session.commit()

    page = client.get(label_url(req)).get_data(as_text=True)

    assert_branded(page, "en")
    assert "A return label can be created once your request is approved." in page


def test_the_label_pages_offer_no_language_switch(client, shop, agent):
    """They speak the request's language; a switch would be ignored, so none is shown."""
    req = approved_request(shop, agent, language="nl")

    page = client.get(label_url(req)).get_data(as_text=True)

    assert 'aria-label="Taal"' not in page and "hreflang" not in page
