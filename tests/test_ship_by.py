"""The ship-by date: an approved customer has the shop's number of days to create the return
label. The approval email and the status page state the day (in the shop's zone, in the
customer's language), a reminder goes out once a few days before, and past it the request
expires; staff give it a new date."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from api_helpers import bearer, make_key
from domain import workflow
from domain.ship_by import ship_by_date
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from models import utcnow
from return_flow import approved_request, create_label
from services import ship_by_sweep
from settings_helpers import settings_form
from staff_helpers import bulk_approve, emails_to

pytestmark = pytest.mark.shop(**RETURN_ADDRESS, ship_by_days=14)

SHIP_BY_SENTENCE = {
    "en": "Create your return label and send the items by {day} at the latest.",
    "nl": "Maak je retourlabel aan en verstuur de artikelen uiterlijk op {day}.",
}


def day_in(days: int, language: str) -> str:
    """The day ``days`` after today in the shop's zone, as the customer's language writes it."""
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    return format_date(today + timedelta(days=days), "long", locale=language)


def ship_by_sentence(language: str, days: int = 14) -> str:
    return SHIP_BY_SENTENCE[language].format(day=day_in(days, language))


def status_page(client, request, language: str = "en") -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    return visible(client.get(path).get_data(as_text=True))


def staff_page(client, request) -> str:
    return visible(client.get(f"/admin/requests/{request.id}").get_data(as_text=True))


def mails(smtp_sink, request, subject_part: str) -> list[str]:
    """The plain bodies of the customer's emails whose subject says ``subject_part``."""
    return [
        m.get_body(("plain",)).get_content()
        for m in emails_to(smtp_sink, request.customer_email)
        if subject_part in m["Subject"]
    ]


def act(client, request, action: str):
    db.session.refresh(request)
    return client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": action, "version": request.version},
    )


def days_later(days: float) -> datetime:
    return utcnow() + timedelta(days=days)


@pytest.mark.parametrize(("language", "approved"), [("en", "is approved"), ("nl", "goedgekeurd")])
def test_the_approval_email_and_status_page_state_the_ship_by_day(
    client, auth, shop, agent, smtp_sink, language, approved
):
    request = make_request(shop, language=language)
    db.session.commit()
    auth.login(agent.email)

    assert act(client, request, "approve").status_code == 302

    assert f"the return label by {day_in(14, 'en')}." in staff_page(client, request)
    [body] = mails(smtp_sink, request, approved)
    assert ship_by_sentence(language) in body
    assert ship_by_sentence(language) in status_page(client, request, language)


def test_changing_the_shops_days_later_does_not_move_a_customers_day(client, shop, agent):
    request = approved_request(shop, agent)
    shop.ship_by_days = 30
    db.session.commit()

    page = status_page(client, request)
    assert ship_by_sentence("en") in page
    assert day_in(30, "en") not in page


def test_a_request_whose_customer_keeps_the_items_has_no_ship_by_day(shop, agent, smtp_sink):
    request = make_request(shop, language="en")
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()

    [body] = mails(smtp_sink, request, "is approved")
    assert "at the latest" not in body
    assert ship_by_sweep.sweep_expired(days_later(60)) == 0


def test_a_shop_without_a_deadline_states_no_day_and_never_expires(client, shop, agent):
    shop.ship_by_days = None
    request = approved_request(shop, agent)

    assert "at the latest" not in status_page(client, request)
    assert ship_by_sweep.sweep_reminders(days_later(60)) == 0
    assert ship_by_sweep.sweep_expired(days_later(60)) == 0


def test_the_reminder_goes_out_once_a_few_days_before_the_day(client, auth, shop, agent, smtp_sink):
    request = approved_request(shop, agent)

    assert ship_by_sweep.sweep_reminders(days_later(9)) == 0
    assert ship_by_sweep.sweep_reminders(days_later(12)) == 1
    assert ship_by_sweep.sweep_reminders(days_later(12.5)) == 0

    [body] = mails(smtp_sink, request, "Reminder: send your return")
    assert ship_by_sentence("en") in body
    assert "After that date the request expires." in body
    auth.login(agent.email)
    assert "ReturnDesk reminded the customer of the ship-by date." in staff_page(client, request)


def test_the_sweep_expires_an_overdue_request_and_leaves_a_labelled_one_alone(
    client, auth, shop, agent, smtp_sink
):
    overdue = approved_request(shop, agent)
    labelled = approved_request(shop, agent)
    create_label(labelled)

    assert ship_by_sweep.sweep_expired(days_later(13)) == 0
    assert ship_by_sweep.sweep_expired(days_later(15)) == 1
    assert ship_by_sweep.sweep_expired(days_later(16)) == 0

    db.session.expire_all()
    assert (overdue.status, labelled.status) == ("expired", "label_created")
    [body] = mails(smtp_sink, overdue, "has expired")
    assert f"by {day_in(14, 'en')}, so the request has expired." in body
    assert mails(smtp_sink, labelled, "has expired") == []
    assert "Expired" in status_page(client, overdue)
    auth.login(agent.email)
    assert (
        "ReturnDesk expired the request: no return label was created by the ship-by date "
        "(Approved → Expired)." in staff_page(client, overdue)
    )


def test_the_dashboard_counts_the_expired_requests(client, auth, shop, agent):
    for _ in range(2):
        approved_request(shop, agent)
    ship_by_sweep.sweep_expired(days_later(15))
    auth.login(agent.email)

    page = client.get("/admin/").get_data(as_text=True)

    shown = page.split('data-status="expired"', 1)[1]
    assert re.match(r"[^<]*>\s*Expired <span[^>]*data-count>2<", shown)


def test_staff_give_an_expired_request_a_new_day_and_the_customer_is_told(
    client, auth, shop, agent, smtp_sink
):
    shop.ship_by_days = 2
    request = approved_request(shop, agent)
    ship_by_sweep.sweep_expired(days_later(3))
    shop.ship_by_days = 10
    db.session.commit()
    auth.login(agent.email)
    assert "Give a new ship-by date" in staff_page(client, request)

    assert act(client, request, "new_ship_by").status_code == 302

    db.session.refresh(request)
    assert request.status == "approved"
    first, again = mails(smtp_sink, request, "is approved")
    assert ship_by_sentence("en", 2) in first
    assert ship_by_sentence("en", 10) in again
    assert ship_by_sentence("en", 10) in status_page(client, request)
    assert "gave the customer a new ship-by date (Expired → Approved)." in staff_page(
        client, request
    )


def test_a_new_label_after_a_cancelled_one_gets_a_new_day(shop, agent, smtp_sink):
    shop.ship_by_days = 2
    request = approved_request(shop, agent)
    return_ = create_label(request)
    workflow.cancel_return(return_, agent, lambda _return: None)
    shop.ship_by_days = 10
    workflow.allow_new_label(request, agent)
    db.session.commit()

    [body] = mails(smtp_sink, request, "was cancelled")
    assert ship_by_sentence("en", 10) in body


def test_a_bulk_approval_records_the_ship_by_day_too(client, auth, shop, agent):
    request = make_request(shop, language="nl")
    db.session.commit()
    auth.login(agent.email)
    response = bulk_approve(client, request)
    assert response.status_code == 302
    shop.ship_by_days = 30
    db.session.commit()

    assert ship_by_sentence("nl") in status_page(client, request, "nl")


def test_flask_outbox_sweep_expires_overdue_requests(runner, shop, agent):
    request = approved_request(shop, agent)
    request.ship_by_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    result = runner.invoke(args=["outbox", "sweep"])

    assert "1 requests expired past their ship-by date" in result.output
    db.session.expire_all()
    assert request.status == "expired"


@pytest.mark.parametrize(
    ("typed", "stored"), [("21", 21), ("0", None), ("", None)], ids=["days", "zero", "empty"]
)
def test_the_shop_admin_sets_the_ship_by_days(client, auth, shop_staff, typed, stored):
    shop = shop_staff.shop
    auth.login("admin@example.com")
    page = client.get(f"/admin/shop_settings/{shop.id}").get_data(as_text=True)
    assert 'name="ship_by_days"' in page and 'value="14"' in page
    form = settings_form(page) | {"ship_by_days": typed}

    assert client.post(f"/admin/shop_settings/{shop.id}", data=form).status_code == 302

    db.session.refresh(shop)
    assert shop.ship_by_days == stored


def test_the_ship_by_days_must_be_a_sensible_number(client, auth, shop_staff):
    shop = shop_staff.shop
    auth.login("admin@example.com")
    page = client.get(f"/admin/shop_settings/{shop.id}").get_data(as_text=True)
    form = settings_form(page) | {"ship_by_days": "-3"}

    response = client.post(f"/admin/shop_settings/{shop.id}", data=form)

    assert response.status_code == 200
    assert "Number must be between 0 and 365." in response.get_data(as_text=True)


def test_the_day_is_the_end_of_the_day_in_the_shops_zone(shop):
    late_evening = datetime(2026, 11, 30, 22, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 in Amsterdam
    deadline = ship_by_date(shop, late_evening)

    in_amsterdam = deadline.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert in_amsterdam.date() == date(2026, 12, 14)
    assert (in_amsterdam.hour, in_amsterdam.minute) == (23, 59)


def test_the_api_gives_the_ship_by_moment_and_the_expired_status(client, shop, agent):
    request = approved_request(shop, agent)
    key = make_key(shop)
    db.session.commit()
    url = f"/api/v1/return-requests/{request.number}"

    before = client.get(url, headers=bearer(key)).json
    ship_by_sweep.sweep_expired(days_later(15))
    after = client.get(url, headers=bearer(key)).json

    deadline = datetime.fromisoformat(before["ship_by_at"].replace("Z", "+00:00"))
    assert deadline.astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%H:%M") == "23:59"
    assert (before["status"], after["status"]) == ("approved", "expired")


def sweep_in_a_thread(app, sweep, when: datetime, barrier, counts: list) -> None:
    with app.app_context():
        barrier.wait()
        counts.append(sweep(when))


@pytest.mark.parametrize(
    ("sweep", "days", "subject"),
    [
        (ship_by_sweep.sweep_reminders, 12, "Reminder: send your return"),
        (ship_by_sweep.sweep_expired, 15, "has expired"),
    ],
    ids=["reminders", "expiry"],
)
def test_two_sweeps_at_once_email_each_customer_once(
    app, shop, agent, smtp_sink, sweep, days, subject
):
    requests = [approved_request(shop, agent) for _ in range(3)]
    barrier, counts = threading.Barrier(2), []
    threads = [
        threading.Thread(
            target=sweep_in_a_thread, args=(app, sweep, days_later(days), barrier, counts)
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(counts) == [0, 3]
    for request in requests:
        assert len(mails(smtp_sink, request, subject)) == 1
