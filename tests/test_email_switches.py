"""A shop turns customer emails off one by one on its settings page; the withdrawal
acknowledgement (required by law) and the messages staff write are always sent, and a
request's history says which email was not sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain import submission, workflow
from domain.emails import SWITCHABLE_EMAILS
from extensions import db
from factories import make_request
from harness import visible
from models import utcnow
from return_flow import approved_request
from services import conversation, ship_by_sweep
from settings_helpers import settings_form, ticked
from staff_helpers import bulk_approve, emails_to

NOT_SENT = (
    "ReturnDesk did not email the customer, as the shop turned this email off: "
    "Request approved (to the customer)"
)


def subjects(smtp_sink, request) -> list[str]:
    return [m["Subject"] for m in emails_to(smtp_sink, request.customer_email)]


def settings_url(shop) -> str:
    return f"/admin/shop_settings/{shop.id}"


def test_an_approval_the_shop_does_not_email_is_said_so_in_the_history(
    client, auth, shop_staff, smtp_sink
):
    shop = shop_staff.shop
    shop.emails_off = "request_approved"
    request = make_request(shop, language="en")
    db.session.commit()
    auth.login("agent@example.com")

    response = client.post(
        f"/admin/requests/{request.id}/act", data={"action": "approve", "version": "1"}
    )

    assert response.status_code == 302
    assert subjects(smtp_sink, request) == []
    page = visible(client.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    assert "Bram Agent approved the request (New → Approved)." in page
    assert NOT_SENT in page


def test_a_bulk_approval_skips_the_email_the_shop_turned_off(client, auth, shop_staff, smtp_sink):
    shop = shop_staff.shop
    shop.emails_off = "request_approved"
    request = make_request(shop, language="en")
    db.session.commit()
    auth.login("agent@example.com")

    bulk_approve(client, request)

    db.session.refresh(request)
    assert request.status == "approved"
    assert subjects(smtp_sink, request) == []
    page = visible(client.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    assert NOT_SENT in page


def test_the_other_emails_still_go_when_one_is_off(shop, agent, smtp_sink):
    shop.emails_off = "request_approved"
    request = make_request(shop, language="en")
    workflow.cancel(request, agent, "Outside the return window")
    db.session.commit()

    assert [s for s in subjects(smtp_sink, request) if "was not approved" in s]


def test_the_withdrawal_acknowledgement_goes_even_with_every_email_off(shop, smtp_sink):
    shop.emails_off = ",".join((*SWITCHABLE_EMAILS, "withdrawal_acknowledgement"))
    request = make_request(shop, language="en", is_withdrawal=True)
    submission.queue_submission_emails(request)
    db.session.commit()

    assert len(subjects(smtp_sink, request)) == 1


def test_a_message_staff_write_is_sent_with_every_email_off(shop, agent, smtp_sink):
    shop.emails_off = ",".join(SWITCHABLE_EMAILS)
    request = make_request(shop, language="en")
    conversation.send_message(request, agent, "Could you send a photo of the damage?", [])
    db.session.commit()

    [message] = emails_to(smtp_sink, request.customer_email)
    assert "Could you send a photo of the damage?" in message.get_body(("plain",)).get_content()


def test_the_customer_who_asks_for_the_link_again_gets_it_with_the_confirmation_off(
    shop, smtp_sink
):
    shop.emails_off = "request_confirmation"
    request = make_request(shop, language="en")
    submission.queue_submission_emails(request)
    submission.resend_confirmation(request)
    db.session.commit()

    assert len(subjects(smtp_sink, request)) == 1


@pytest.mark.parametrize(
    "turned_off",
    [["request_approved"], ["request_confirmation", "return_received"], list(SWITCHABLE_EMAILS)],
    ids=["one", "two", "all"],
)
def test_the_settings_page_turns_emails_off_and_shows_them_so(client, auth, shop_staff, turned_off):
    shop = shop_staff.shop
    auth.login("admin@example.com")
    page = client.get(settings_url(shop)).get_data(as_text=True)
    assert ticked(page, "customer_emails") == list(SWITCHABLE_EMAILS)
    form = settings_form(page)
    form["customer_emails"] = [kind for kind in SWITCHABLE_EMAILS if kind not in turned_off]

    assert client.post(settings_url(shop), data=form).status_code == 302

    page = client.get(settings_url(shop)).get_data(as_text=True)
    assert ticked(page, "customer_emails") == form["customer_emails"]
    db.session.refresh(shop)
    assert shop.emails_off == ",".join(turned_off)


def test_the_settings_page_shows_the_withdrawal_acknowledgement_always_on(client, auth, shop_staff):
    auth.login("admin@example.com")
    page = client.get(settings_url(shop_staff.shop)).get_data(as_text=True)

    box = re.search(r'<input[^>]*id="always-sent-1"[^>]*>', page).group(0)
    assert "checked" in box and "disabled" in box
    text = visible(page)
    assert "Withdrawal acknowledged (to the customer) Required by law" in text
    assert "Messages your staff write to a customer are always sent." in text


def test_a_sweep_skips_the_reminder_the_shop_turned_off_and_says_so(
    client, auth, shop_staff, smtp_sink
):
    shop = shop_staff.shop
    shop.emails_off = "ship_by_reminder"
    request = approved_request(shop, shop_staff.agent)

    assert ship_by_sweep.sweep_reminders(utcnow() + timedelta(days=12)) == 1

    assert [s for s in subjects(smtp_sink, request) if "Reminder" in s] == []
    auth.login("agent@example.com")
    page = visible(client.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    assert (
        "ReturnDesk did not email the customer, as the shop turned this email off: "
        "Reminder of the ship-by date (to the customer)" in page
    )
