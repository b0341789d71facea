"""A shop may address its customers formally: its Dutch portal, status page, label pages, error
pages and customer emails then say "u/uw"; every other shop's say "je", and staff pages and
English stay as they are.

The formal variants live in ``translations_formal/`` (domain/formal_address.py); the first
tests hold that catalog to the main one.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from domain import email_context, emails, links
from domain.emails import CUSTOMER_EMAILS
from domain.formal_address import formal_address
from extensions import db
from factories import make_request, make_user
from models import OutboundEmail, Shop
from translation_helpers import dutch_catalog, placeholders, source_messages, translations_of

ROOT = Path(__file__).resolve().parent.parent
FORMAL_PO = ROOT / "translations_formal" / "nl" / "LC_MESSAGES" / "messages.po"
INFORMAL = re.compile(r"\b(?:je|jou|jouw|jij|jezelf)\b", re.IGNORECASE)
# Where the customer's texts are written: the portal's pages and code, the label and status
# pages, the settlement's and the statuses' customer words, the submission rules' messages
# and the customer emails (the staff emails and admin screens are not listed).
CUSTOMER_FACING = (
    "templates/portal/",
    "templates/label_portal/",
    "templates/refunds/",
    "web/portal/",
    "domain/settlement.py",
    "domain/statuses.py",
    "domain/submission_rules.py",
    "templates/email/_",
    *(f"templates/email/{name}." for name in CUSTOMER_EMAILS),
)


def formal_catalog():
    with FORMAL_PO.open("rb") as po:
        return read_po(po, locale="nl")


def customer_facing_msgids() -> set[str]:
    return {
        msgid
        for msgid, places in source_messages().items()
        if any(place.startswith(CUSTOMER_FACING) for place in places)
    }


# --- the formal catalog ---------------------------------------------------------------------


def test_every_formal_string_varies_a_string_of_the_main_catalog():
    main = {entry.id for entry in dutch_catalog() if entry.id}
    assert [entry.id for entry in formal_catalog() if entry.id and entry.id not in main] == []


def test_every_informal_customer_text_has_a_formal_variant():
    formal = {entry.id for entry in formal_catalog() if entry.id}
    customer = customer_facing_msgids()
    missing = [
        f"{entry.id!r}: {entry.string!r}"
        for entry in dutch_catalog()
        if entry.id in customer
        and entry.id not in formal
        and any(INFORMAL.search(text or "") for text in translations_of(entry))
    ]
    if missing:
        pytest.fail("no formal variant in translations_formal for:\n" + "\n".join(missing))


def test_formal_variants_say_u_and_keep_the_placeholders():
    wrong = []
    for entry in formal_catalog():
        if not entry.id:
            continue
        for text in translations_of(entry):
            if INFORMAL.search(text) or placeholders(text) != placeholders(entry.id):
                wrong.append(f"{entry.id!r} -> {text!r}")
    assert wrong == []


# --- over HTTP ------------------------------------------------------------------------------


def formal(shop: Shop) -> Shop:
    shop.address_formally = True
    db.session.commit()
    return shop


def page_text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def test_a_formal_shops_portal_says_u_in_dutch(client, shop, order):
    formal(shop)
    page = page_text(client, "/returns/demo/?lang=nl")
    assert "Zoek uw bestelling op met het bestelnummer" in page
    assert "Zoek je bestelling" not in page


def test_an_informal_shops_portal_says_je(client, shop, order):
    page = page_text(client, "/returns/demo/?lang=nl")
    assert "Zoek je bestelling op met het bestelnummer" in page
    assert "Zoek uw bestelling" not in page


def test_english_is_the_same_for_a_formal_shop(client, shop, order):
    formal(shop)
    page = page_text(client, "/returns/demo/?lang=en")
    assert "Find your order with its order number" in page


@pytest.mark.parametrize(
    ("address_formally", "says", "not_says"),
    [
        (True, "Uw retour is goedgekeurd. Maak uw retourlabel aan", "Je retour"),
        (False, "Je retour is goedgekeurd. Maak je retourlabel aan", "Uw retour"),
    ],
)
def test_the_status_page_and_the_approval_email_follow_the_shop(
    client, auth, shop, address_formally, says, not_says
):
    shop.address_formally = address_formally
    make_user("anna@example.com", shop, name="Anna", language="nl")
    request = make_request(shop, language="nl")
    db.session.commit()
    auth.login("anna@example.com")
    client.post(f"/admin/requests/{request.id}/act", data={"action": "approve"})
    auth.logout()

    status = page_text(client, links.status_path(shop.slug, request.public_token))
    assert says in status and not_says not in status

    email = db.session.query(OutboundEmail).filter_by(template="request_approved").one()
    opening = "Uw retour" if address_formally else "Je retour"
    assert email.subject == f"{opening} {request.number} bij Demo Winkel is goedgekeurd"
    maak = "maak uw retourlabel aan op uw" if address_formally else "maak je retourlabel aan op je"
    assert f"Volgende stap: {maak} retourpagina:" in email.body_text


def test_a_formal_shops_label_and_error_pages_say_u(client, shop, agent):
    formal(shop)
    request = make_request(shop, language="nl")
    db.session.commit()
    status = links.status_path(shop.slug, request.public_token)
    label = page_text(client, f"{status}/label")
    assert "U kunt een retourlabel aanmaken zodra uw aanvraag is goedgekeurd." in label
    missing = client.get("/returns/demo/status/no-such-token?lang=nl")
    assert missing.status_code == 404
    assert "Een link naar uw retour werkt niet meer" in html.unescape(
        missing.get_data(as_text=True)
    )


def test_staff_pages_say_je_for_a_formal_shop(client, auth, shop):
    formal(shop)
    make_user("admin@example.com", shop, role="admin", name="Anna Admin", language="nl")
    db.session.commit()
    auth.login("admin@example.com")
    team = page_text(client, "/admin/team/")
    assert re.search(r'<span class="badge badge-light">Jij</span>', team)


def test_the_shop_admin_switches_to_u_on_the_settings_page(client, auth, shop):
    make_user("admin@example.com", shop, role="admin", name="Anna Admin", language="nl")
    db.session.commit()
    auth.login("admin@example.com")
    page = page_text(client, f"/admin/shop_settings/{shop.id}")
    assert "Klanten aanspreken met “u”" in page
    form = {
        "name": shop.name,
        "brand_color": "#0d6efd",
        "languages": ["nl", "en"],
        "default_language": "nl",
        "address_formally": "y",
        "time_zone": shop.time_zone,
        "return_window_days": "30",
        "withdrawal_window_days": "14",
        "offered_resolutions": ["refund"],
        "return_fee": "5.95",
        "return_address_country": "NL",
    }
    client.post(f"/admin/shop_settings/{shop.id}", data=form)
    db.session.refresh(shop)
    assert shop.address_formally is True
    assert "Zoek uw bestelling op" in page_text(client, "/returns/demo/?lang=nl")


@pytest.mark.parametrize("template", sorted(CUSTOMER_EMAILS))
def test_every_customer_email_of_a_formal_shop_says_u(app, shop, template):
    formal(shop)
    with app.test_request_context(), force_locale("nl"), formal_address(shop):
        example = email_context.example(shop, "nl")
        subject, text, body_html = emails.render_default(template, example)
    informal = INFORMAL.findall(" ".join((subject, text, html.unescape(body_html))))
    assert informal == [], template
