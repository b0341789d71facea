"""What people see of the retention rules: the shop's settings (defaults explained, a bad
value refused with the reason), the privacy statement linked from the portal, the status page
saying how long the photos are kept (Dutch and English), and support's dashboard line of the
retention job's last run (not a shop's agent's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from extensions import db
from factories import make_order, make_request
from harness import visible
from models import COMPLETED, NEW, RetentionRun, ReturnRequest, utcnow
from portal_helpers import jpeg_bytes
from services import retention, storage
from settings_helpers import settings_form

PRIVACY = "https://www.demowinkel.example/privacy"


def settings_page(client, shop) -> tuple[str, str]:
    url = f"/admin/shop_settings/{shop.id}"
    return url, client.get(url).get_data(as_text=True)


def test_the_settings_explain_the_retention_defaults_in_english(client, auth, shop_staff):
    auth.login("admin@example.com")
    _, page = settings_page(client, shop_staff.shop)
    text = visible(page)
    assert "Anonymise requests (months after the request is closed)" in text
    assert "stay for your books. Empty: 24 months." in text
    assert "Keep financial records (years)" in text and "Empty: 7 years." in text
    assert "Privacy statement (URL)" in text
    assert "lose their content 90 days after they were sent" in text
    form = settings_form(page)
    assert (form["anonymise_after_months"], form["books_retention_years"]) == ("24", "7")


def test_the_settings_explain_the_retention_defaults_in_dutch(client, auth, shop_staff):
    shop_staff.admin.language = "nl"
    db.session.commit()
    auth.login("admin@example.com")
    text = visible(settings_page(client, shop_staff.shop)[1])
    assert "Aanvragen anonimiseren (maanden nadat de aanvraag is afgesloten)" in text
    assert "blijven voor je boekhouding. Leeg: 24 maanden." in text
    assert "Financiële gegevens bewaren (jaren)" in text and "Leeg: 7 jaar." in text
    assert "Privacyverklaring (URL)" in text


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        (
            {"anonymise_after_months": "12", "books_need_customer": "y"},
            "Your books need the customer's details for 7 years: anonymise after 84 months "
            "at the earliest.",
        ),
        ({"privacy_url": "http://www.demowinkel.example/privacy"}, "starting with https://"),
        ({"privacy_url": "javascript:alert(1)"}, "Use a full address starting with https://."),
        ({"anonymise_after_months": "0"}, "Number must be between 1 and 240."),
    ],
)
def test_a_bad_retention_setting_is_refused_with_the_reason(
    client, auth, shop_staff, changed, error
):
    auth.login("admin@example.com")
    url, page = settings_page(client, shop_staff.shop)
    answer = client.post(url, data={**settings_form(page), **changed})
    assert answer.status_code == 200
    assert error in visible(answer.get_data(as_text=True))
    db.session.expire_all()
    assert shop_staff.shop.anonymise_after_months == 24 and shop_staff.shop.privacy_url is None


def test_the_admin_saves_the_retention_settings(client, auth, shop_staff):
    auth.login("admin@example.com")
    url, page = settings_page(client, shop_staff.shop)
    changed = {
        "anonymise_after_months": "96",
        "books_retention_years": "8",
        "books_need_customer": "y",
        "privacy_url": PRIVACY,
    }
    assert client.post(url, data={**settings_form(page), **changed}).status_code == 302
    db.session.expire_all()
    shop = shop_staff.shop
    assert (shop.anonymise_after_months, shop.books_retention_years) == (96, 8)
    assert shop.books_need_customer and shop.privacy_url == PRIVACY


@pytest.mark.parametrize(
    ("lang", "words"), [("nl", "Privacyverklaring van Demo Winkel"), ("en", "Privacy statement")]
)
def test_every_portal_page_links_the_privacy_statement(client, shop, lang, words):
    shop.privacy_url = PRIVACY
    request = make_request(shop)
    db.session.commit()
    for url in (
        f"/returns/demo/?lang={lang}",
        f"/returns/demo/status/{request.public_token}?lang={lang}",
        f"/returns/demo/status/no-such-link?lang={lang}",
    ):
        page = client.get(url).get_data(as_text=True)
        assert f'<a href="{PRIVACY}" id="privacy-link">{words}' in page, url


def test_without_a_privacy_statement_there_is_no_link(client, shop):
    assert 'id="privacy-link"' not in client.get("/returns/demo/").get_data(as_text=True)


def request_with_photo(shop, status: str) -> ReturnRequest:
    request = make_request(shop, make_order(shop), status=status)
    storage.save(
        jpeg_bytes(),
        "foto.jpg",
        "image/jpeg",
        shop.id,
        request_id=request.id,
        request_line_id=request.lines[0].id,
    )
    db.session.commit()
    return request


def status_text(client, request: ReturnRequest, lang: str) -> str:
    url = f"/returns/demo/status/{request.public_token}?lang={lang}"
    return visible(client.get(url).get_data(as_text=True))


def test_a_closed_requests_page_says_until_when_the_photos_are_kept(client, shop):
    request = request_with_photo(shop, COMPLETED)
    closed = datetime(2026, 11, 1, 12, tzinfo=UTC)  # 180 days on: 30 April 2027
    db.session.execute(
        update(ReturnRequest).where(ReturnRequest.id == request.id).values(updated_at=closed)
    )
    db.session.commit()
    assert "We bewaren je foto's tot 30 april 2027; daarna verwijderen we ze." in status_text(
        client, request, "nl"
    )
    assert "We keep your photos until April 30, 2027; then we delete them." in status_text(
        client, request, "en"
    )
    shop.address_formally = True
    db.session.commit()
    assert "We bewaren uw foto's tot 30 april 2027" in status_text(client, request, "nl")


def test_an_open_requests_page_says_for_how_long_after_closing(client, shop):
    request = request_with_photo(shop, NEW)
    assert (
        "We bewaren je foto's tot 6 maanden nadat je retouraanvraag is afgesloten; "
        "daarna verwijderen we ze." in status_text(client, request, "nl")
    )
    assert (
        "We keep your photos until 6 months after your return request is closed; "
        "then we delete them." in status_text(client, request, "en")
    )


def test_a_request_without_photos_says_nothing_of_them(client, shop):
    request = make_request(shop)
    db.session.commit()
    assert "photos" not in status_text(client, request, "en")


def anonymisable(shop) -> None:
    request = make_request(shop, status=COMPLETED)
    db.session.commit()
    db.session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == request.id)
        .values(updated_at=utcnow() - timedelta(days=25 * 30))
    )
    db.session.commit()


def test_support_sees_the_retention_jobs_last_run(client, auth, shop_staff):
    auth.login("support@example.com")
    assert "Has not run yet." in visible(client.get("/admin/").get_data(as_text=True))
    anonymisable(shop_staff.shop)
    retention.run()
    text = visible(client.get("/admin/").get_data(as_text=True))
    assert "Retention job" in text
    assert (
        "Requests anonymised: 1; files deleted: 0; outbox bodies and webhook payloads trimmed: 0;"
        in text
    )


def test_support_reads_it_in_dutch(client, auth, shop_staff):
    shop_staff.support.language = "nl"
    db.session.commit()
    anonymisable(shop_staff.shop)
    retention.run()
    auth.login("support@example.com")
    text = visible(client.get("/admin/").get_data(as_text=True))
    assert "Opschoontaak (bewaartermijnen)" in text and "Aanvragen geanonimiseerd: 1;" in text


@pytest.mark.parametrize("who", ["agent@example.com", "admin@example.com"])
def test_a_shops_staff_do_not_see_the_retention_job(client, auth, shop_staff, who):
    retention.run()
    auth.login(who)
    page = client.get("/admin/")
    assert page.status_code == 200
    text = visible(page.get_data(as_text=True))
    assert "Retention job" not in text and "anonymised" not in text


def test_support_sees_a_run_under_way(client, auth, shop_staff):
    db.session.add(
        RetentionRun(started_at=utcnow(), files_deleted=3, requests_anonymised=2, bodies_trimmed=0)
    )
    db.session.commit()
    auth.login("support@example.com")
    text = visible(client.get("/admin/").get_data(as_text=True))
    assert "Running since" in text and "Requests anonymised: 2; files deleted: 3;" in text


def test_the_shops_admin_reads_the_anonymisation_in_the_data_protection_log(
    client, auth, shop_staff
):
    anonymisable(shop_staff.shop)
    retention.run()
    auth.login("admin@example.com")
    text = visible(client.get("/admin/customer-data/").get_data(as_text=True))
    assert "Latest exports, erasures and anonymisations" in text
    assert "ReturnDesk anonymised closed requests past the shop's retention period: 1" in text
