"""The bell in the staff navbar: who is told of what, over HTTP, as the user reads it.

A customer's reply reaches the agent holding the request, a new request the staff of its
shop only, a hold taken over the colleague whose hold it was, a failed label or email
platform support only; opening the request or "Mark all read" clears the count.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

import tasks
from domain import audit, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_order, make_request, make_shop, make_user
from harness import client_at, visible
from label_standins import PUBLIC_KEY, SECRET_KEY
from models import CarrierAccount, OutboundEmail, ReturnRequest, utcnow
from portal_helpers import fill_until_review, submission_key, submit
from services import labels
from staff_helpers import csrf_token_in

BELL = re.compile(r'id="notification-bell"[^>]*aria-label="([^"]+)"', re.S)


def bell(client) -> str:
    """What a screen reader hears of the bell on the dashboard."""
    page = client.get("/admin/").get_data(as_text=True)
    return BELL.search(page).group(1)


def entries(client) -> list[str]:
    """The sentences of the notifications page, newest first."""
    page = client.get("/admin/notifications/").get_data(as_text=True)
    items = re.findall(r'<li class="list-group-item[^"]*"[^>]*>(.*?)</li>', page, re.S)
    return [visible(item).strip() for item in items]


def staff_client(app, email: str):
    browser = client_at(app, "10.0.0.7")
    browser.post("/login", data={"email": email, "password": "secret-pw"})
    return browser


def status_path(request: ReturnRequest) -> str:
    return f"/returns/{request.shop.slug}/status/{request.public_token}"


@pytest.fixture
def english(shop_staff):
    """Everyone of the ``shop_staff`` reads ReturnDesk in English."""
    for user in (shop_staff.admin, shop_staff.agent, shop_staff.support):
        user.language = "en"
    db.session.commit()
    return shop_staff


@pytest.fixture
def held(shop, english) -> ReturnRequest:
    """A request of the shop that Bram Agent holds."""
    request = make_request(shop, language="en")
    workflow.hold(request, english.agent)
    db.session.commit()
    return request


def test_a_customer_reply_on_a_held_request_rings_the_holders_bell_until_he_opens_it(
    app, held, english
):
    agent = staff_client(app, "agent@example.com")
    assert bell(agent) == "Notifications, none unread"

    customer = client_at(app, "10.0.0.8")
    reply = customer.post(status_path(held) + "/reply", data={"body": "Is it the blue one?"})
    assert reply.status_code == 302

    assert bell(agent) == "Notifications, 1 unread"
    assert agent.get("/admin/notifications/count").get_json() == {
        "unread": 1,
        "label": "Notifications, 1 unread",
    }
    customer_name = held.customer_name
    assert entries(agent)[0].startswith(f"Unread {customer_name} replied on request {held.number}.")
    page = agent.get("/admin/notifications/").get_data(as_text=True)
    assert f'href="/admin/requests/{held.id}"' in page

    assert agent.get(f"/admin/requests/{held.id}").status_code == 200
    assert bell(agent) == "Notifications, none unread"
    assert not entries(agent)[0].startswith("Unread")
    # Nobody else held or touched it: the admin's bell stays quiet.
    assert bell(staff_client(app, "admin@example.com")) == "Notifications, none unread"


def test_a_reply_reaches_the_colleague_who_last_touched_the_request_when_nobody_holds_it(
    app, shop, english
):
    request = make_request(shop, language="en")
    workflow.set_concept(request, english.admin)
    db.session.commit()

    client_at(app, "10.0.0.8").post(status_path(request) + "/reply", data={"body": "Hello?"})

    assert bell(staff_client(app, "admin@example.com")) == "Notifications, 1 unread"
    assert bell(staff_client(app, "agent@example.com")) == "Notifications, none unread"


def test_a_new_request_is_told_to_the_staff_of_its_shop_and_not_of_another_shop(
    app, client, shop, order, reasons, english
):
    other = make_shop("fashion", "Mode Huis")
    make_user("agent@fashion.example.com", other, language="en")
    db.session.commit()

    fill_until_review(client, order, reasons)
    assert submit(client, submission_key(client)).status_code == 302
    number = db.session.scalar(select(ReturnRequest.number))

    for email in ("agent@example.com", "admin@example.com"):
        staff = staff_client(app, email)
        assert bell(staff) == "Notifications, 1 unread"
        assert entries(staff)[0].startswith(f"Unread New request {number} from Sanne de Vries.")
    assert bell(staff_client(app, "agent@fashion.example.com")) == "Notifications, none unread"
    # Support is not told of every shop's every request.
    assert bell(staff_client(app, "support@example.com")) == "Notifications, none unread"


def test_opening_the_request_reads_only_the_openers_entries(app, shop, english):
    request = make_request(shop, language="en")
    audit.record(request, audit.Actor(label="Sanne de Vries <klant@example.com>"), "submitted")
    db.session.commit()
    agent, admin = staff_client(app, "agent@example.com"), staff_client(app, "admin@example.com")

    agent.get(f"/admin/requests/{request.id}")

    assert bell(agent) == "Notifications, none unread"
    assert bell(admin) == "Notifications, 1 unread"


def test_a_take_over_tells_the_colleague_whose_hold_it_was(app, held, english):
    admin = staff_client(app, "admin@example.com")
    taken = admin.post(f"/admin/requests/{held.id}/act", data={"action": "take_over"})
    assert taken.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReturnRequest, held.id).held_by_id == english.admin.id

    agent = staff_client(app, "agent@example.com")
    assert bell(agent) == "Notifications, 1 unread"
    assert entries(agent)[0].startswith(
        f"Unread Anna Admin took over your hold on request {held.number}."
    )
    assert bell(admin) == "Notifications, none unread", "nobody is told of their own act"


@pytest.fixture
def sendcloud_account(shop, sendcloud) -> CarrierAccount:
    account = CarrierAccount(
        shop_id=shop.id,
        carrier="sendcloud",
        public_key=PUBLIC_KEY,
        secret_key=SECRET_KEY,
        settings={"shipping_option_code": "postnl:return/standard"},
    )
    db.session.add(account)
    db.session.commit()
    return account


@pytest.mark.shop(**RETURN_ADDRESS)
@pytest.mark.usefixtures("sendcloud_account")
def test_a_label_the_carrier_refused_is_told_to_support_only(app, shop, english, sendcloud):
    order = make_order(shop, customer_street="Kerkstraat 12", customer_city="Amsterdam")
    request = make_request(shop, order=order, language="en")
    workflow.approve(request, english.agent)
    return_ = labels.create_return(request, "sendcloud", audit.CUSTOMER)
    db.session.commit()
    sendcloud["fail_with"] = (422, {"error": {"code": 422, "message": "Unknown shipping option"}})

    tasks.create_label(return_.id)

    support = staff_client(app, "support@example.com")
    assert bell(support) == "Notifications, 1 unread"
    assert entries(support)[0].startswith(
        f"Unread The return label of request {request.number} could not be made: "
        "Sendcloud refused the request: Unknown shipping option"
    )
    for email in ("agent@example.com", "admin@example.com"):
        assert bell(staff_client(app, email)) == "Notifications, none unread"


def test_an_email_that_failed_for_good_is_told_to_support_only(
    app, shop, english, smtp_sink, runner
):
    request = make_request(shop, language="en")
    smtp_sink.fail_with = "451 try later"
    workflow.approve(request, english.agent)
    db.session.commit()
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.request_id == request.id))
    email.created_at = utcnow() - timedelta(days=3.1)
    email.next_attempt_at = utcnow()
    db.session.commit()

    assert runner.invoke(args=["outbox", "sweep"]).exit_code == 0
    smtp_sink.fail_with = None
    db.session.expire_all()
    assert db.session.get(OutboundEmail, email.id).status == "failed"

    support = staff_client(app, "support@example.com")
    assert bell(support) == "Notifications, 1 unread"
    assert entries(support)[0].startswith(
        f"Unread An email about request {request.number} could not be sent: "
        "Request approved (to the customer)"
    )
    assert bell(staff_client(app, "agent@example.com")) == "Notifications, none unread"


def test_mark_all_read_clears_the_bell_and_needs_its_csrf_token(app, shop, english):
    for _ in range(3):
        request = make_request(shop, language="en")
        workflow.hold(request, english.agent)
        workflow.take_over(request, english.admin)
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    agent = client_at(app, "10.0.0.7")
    token = csrf_token_in(agent.get("/login").data)
    agent.post(
        "/login", data={"email": "agent@example.com", "password": "secret-pw", "csrf_token": token}
    )
    assert bell(agent) == "Notifications, 3 unread"

    assert agent.post("/admin/notifications/read-all").status_code == 400
    assert bell(agent) == "Notifications, 3 unread"

    page = agent.get("/admin/notifications/")
    done = agent.post(
        "/admin/notifications/read-all", data={"csrf_token": csrf_token_in(page.data)}
    )
    assert done.status_code == 302
    page = agent.get(done.location).get_data(as_text=True)
    assert "All notifications are marked read." in page
    assert bell(agent) == "Notifications, none unread"
    assert len(entries(agent)) == 3


def test_the_bell_and_its_entries_speak_dutch(app, held, english):
    english.agent.language = "nl"
    db.session.commit()
    client_at(app, "10.0.0.8").post(status_path(held) + "/reply", data={"body": "Hallo"})

    agent = staff_client(app, "agent@example.com")
    assert bell(agent) == "Notificaties, 1 ongelezen"
    page = agent.get("/admin/notifications/").get_data(as_text=True)
    assert "Je notificaties" in page and "Alles als gelezen markeren" in page
    assert "<title>Je notificaties" in page
    assert entries(agent)[0].startswith(
        f"Ongelezen {held.customer_name} heeft gereageerd op aanvraag {held.number}."
    )
    agent.get(f"/admin/requests/{held.id}")
    assert bell(agent) == "Notificaties, niets ongelezen"


def test_a_colleague_removed_from_the_shop_no_longer_sees_its_entries(app, held, english):
    client_at(app, "10.0.0.8").post(status_path(held) + "/reply", data={"body": "Hello"})
    db.session.delete(english.agent.memberships[0])
    db.session.commit()

    assert (
        staff_client(app, "agent@example.com")
        .get("/admin/notifications/count")
        .get_json()["unread"]
        == 0
    )


# --- what also comes by email ---------------------------------------------------------------


def choose_emails(client, *kinds: str):
    return client.post("/account/notification-emails", data={"kinds": list(kinds)})


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def test_an_agent_who_chose_it_gets_a_taken_over_hold_by_email_in_the_shops_layout(
    app, held, english, smtp_sink
):
    agent = staff_client(app, "agent@example.com")
    page = agent.get("/admin/notifications/").get_data(as_text=True)
    assert "Holds taken over from me" in page
    assert "Return labels that could not be made" not in page, "failures are support's"
    assert choose_emails(agent, "hold_taken_over").status_code == 302
    assert "Your choice of emails has been saved." in agent.get("/admin/notifications/").get_data(
        as_text=True
    )

    admin = staff_client(app, "admin@example.com")
    admin.post(f"/admin/requests/{held.id}/act", data={"action": "take_over"})

    (email,) = smtp_sink.to("agent@example.com")
    sentence = f"Anna Admin took over your hold on request {held.number}."
    assert email["Subject"] == sentence
    assert sentence in email.get_body(("plain",)).get_content()
    html = html_of(email)
    assert f"border-top: 6px solid {held.shop.brand_color or '#0d6efd'}" in html
    assert f'href="http://returndesk.test/admin/requests/{held.id}"' in html
    assert smtp_sink.to("admin@example.com") == []


def test_the_holder_gets_a_customer_reply_by_email_until_they_untick_it(
    app, held, english, smtp_sink
):
    customer = client_at(app, "10.0.0.8")
    customer.post(status_path(held) + "/reply", data={"body": "First question"})
    (email,) = smtp_sink.to("agent@example.com")
    assert "First question" in email.get_body(("plain",)).get_content()

    agent = staff_client(app, "agent@example.com")
    assert choose_emails(agent).status_code == 302
    customer.post(status_path(held) + "/reply", data={"body": "Second question"})

    assert len(smtp_sink.to("agent@example.com")) == 1
    assert bell(agent) == "Notifications, 2 unread", "the bell still tells"


def test_the_staffs_new_request_email_has_the_branded_layout(
    app, client, shop, order, reasons, english, smtp_sink
):
    agent = staff_client(app, "agent@example.com")
    assert choose_emails(agent, "new_request").status_code == 302
    db.session.expire_all()
    assert english.agent.notify_new_requests

    fill_until_review(client, order, reasons)
    submit(client, submission_key(client))

    (email,) = smtp_sink.to("agent@example.com")
    html = html_of(email)
    assert html.startswith("<!doctype html>")
    assert "border-top: 6px solid" in html and shop.name in html
    assert "Open the request" in html


def test_support_chooses_failures_by_email_in_dutch(app, english):
    english.support.language = "nl"
    db.session.commit()
    support = staff_client(app, "support@example.com")
    page = support.get("/admin/notifications/").get_data(as_text=True)
    assert "Ook per e-mail" in page
    assert "Retourlabels die niet gemaakt konden worden" in page
    assert "Nieuwe aanvragen in mijn winkels" not in page, "support belongs to no shop"

    assert choose_emails(support, "label_failed", "new_request").status_code == 302
    db.session.expire_all()
    assert english.support.email_notifications == ["label_failed"]
    assert not english.support.notify_new_requests
