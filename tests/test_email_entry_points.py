"""The customer's email about a decision is the same whichever way the decision is taken.

One request shape is approved (or cancelled) through every entry point: the request page,
a row of the list, a small bulk action (in the request), a large one (a bulk job), the API
and a notice rule that approves on submission. The outbox is delivered in-process without a
mail server, so each email is the row the delivery job leaves: written at once by a single
decision, written by the job from an unwritten row after a bulk action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from domain import workflow
from extensions import db
from factories import make_order, make_reason, make_shop, make_user
from models import ApiKey, NoticeRule, OutboundEmail, ReturnRequest
from web.api import http

REJECTION = "Gedragen: het label is eraf geknipt."
CANCEL_REASON = "Buiten de retourtermijn van 30 dagen."

# The entry points an agent can reject an item before (on the request page), and the rest.
AFTER_A_REJECTION = ("request_page", "list_row", "bulk_inline", "bulk_job")
APPROVING = (*AFTER_A_REJECTION, "api", "rule")
CANCELLING = ("request_page", "bulk_inline", "bulk_job", "api")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass
class Desk:
    """A shop with its agent logged in and an API key for its webshop."""

    client: object
    shop: object
    key: str

    def submit(self, language: str, resolution: str = "refund") -> ReturnRequest:
        """Two of an order's three lines, submitted through the API as the webshop would."""
        order = make_order(self.shop, lines=3)
        db.session.commit()
        first, second, _not_returned = order.lines
        body = {
            "order_number": order.number,
            "language": language,
            "resolution": resolution,
            "lines": [
                {"order_line_id": first.id, "quantity": 2, "reason": "too_small"},
                {"order_line_id": second.id, "quantity": 1, "reason": "too_small"},
            ],
        }
        if resolution == "exchange":
            body["exchange_note"] = "Maat L"
        response = self.client.post("/api/v1/return-requests", json=body, headers=self.bearer())
        assert response.status_code == 201, response.get_json()
        return self.request(response.get_json()["number"])

    def request(self, number: str) -> ReturnRequest:
        db.session.expire_all()
        return db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))

    def bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    def reject_second_item(self, req: ReturnRequest) -> None:
        """On the request page: "Reject item" with the reason typed next to it."""
        line = req.lines[1]
        response = self.client.post(
            f"/admin/requests/{req.id}/act",
            data={
                "action": "decide_line",
                "line_id": line.id,
                "decision": "rejected",
                "reason": REJECTION,
            },
        )
        assert response.status_code == 302
        assert self.request(req.number).lines[1].decision == "rejected"

    def act_on_page(self, req: ReturnRequest, action: str, **form) -> None:
        response = self.client.post(
            f"/admin/requests/{req.id}/act",
            data={"action": action, "version": req.version, **form},
        )
        assert response.status_code == 302

    def approve_in_list_row(self, req: ReturnRequest) -> None:
        listing = self.client.get("/admin/requests/", follow_redirects=True).get_data(as_text=True)
        assert f'aria-label="Approve {req.number}"' in listing
        response = self.client.post(
            f"/admin/requests/{req.id}/act",
            data={"action": "approve", "next": "/admin/requests/"},
        )
        assert response.status_code == 302

    def bulk(self, req: ReturnRequest, action: str, **form) -> None:
        response = self.client.post(
            "/admin/requests/bulk",
            query_string={"ids": str(req.id), "action": action},
            data={"action": action, **form},
        )
        assert response.status_code == 302

    def by_api(self, req: ReturnRequest, action: str, **body) -> None:
        response = self.client.post(
            f"/api/v1/return-requests/{req.number}/actions",
            json={"action": action, **body},
            headers=self.bearer(),
        )
        assert response.status_code == 200, response.get_json()


@pytest.fixture
def desk(app, client, auth) -> Desk:
    app.config["MAIL_SERVER"] = None
    shop = make_shop(return_fee_cents=595)
    make_reason(shop)
    make_user("anna@example.com", shop, name="Anna")
    key, prefix, key_hash = http.new_key()
    db.session.add(ApiKey(shop=shop, name="webshop", prefix=prefix, key_hash=key_hash))
    db.session.commit()
    auth.login("anna@example.com")
    return Desk(client=client, shop=shop, key=key)


def approve_through(desk: Desk, entry: str, req: ReturnRequest, monkeypatch) -> None:
    if entry == "request_page":
        desk.act_on_page(req, "approve")
    elif entry == "list_row":
        desk.approve_in_list_row(req)
    elif entry == "bulk_inline":
        desk.bulk(req, "approve")
    elif entry == "bulk_job":
        monkeypatch.setattr(workflow, "BULK_INLINE_LIMIT", 0)
        desk.bulk(req, "approve")
    elif entry == "api":
        desk.by_api(req, "approve")


def cancel_through(desk: Desk, entry: str, req: ReturnRequest, monkeypatch) -> None:
    """The reason as an agent pastes it, with the stray spaces and newline of a paste."""
    typed = f"  {CANCEL_REASON}\n"
    if entry == "request_page":
        desk.act_on_page(req, "cancel", reason=typed)
    elif entry == "bulk_inline":
        desk.bulk(req, "cancel", reason=typed)
    elif entry == "bulk_job":
        monkeypatch.setattr(workflow, "BULK_INLINE_LIMIT", 0)
        desk.bulk(req, "cancel", reason=typed)
    elif entry == "api":
        desk.by_api(req, "cancel", reason=typed)


def approved_by_rule(desk: Desk, language: str, resolution: str) -> ReturnRequest:
    """A rule "approve automatically" matching every request, then a submission it approves."""
    rule = NoticeRule(
        shop_id=desk.shop.id,
        name="Everything",
        conditions=[{"kind": "more_items_than", "count": 0}],
        severity="info",
        action="approve",
        message_nl="Alles",
        message_en="Everything",
    )
    db.session.add(rule)
    db.session.commit()
    req = desk.submit(language, resolution)
    db.session.get(NoticeRule, rule.id).active = False  # switched off, as support would
    db.session.commit()
    return req


def decided(
    desk: Desk, entry: str, monkeypatch, *, language: str, resolution: str, reject: bool
) -> ReturnRequest:
    """A submitted request of the shape, approved through ``entry``; returns it as it is now."""
    if entry == "rule":
        req = approved_by_rule(desk, language, resolution)
    else:
        req = desk.submit(language, resolution)
        if reject:
            desk.reject_second_item(req)
            req = desk.request(req.number)
        approve_through(desk, entry, req, monkeypatch)
    req = desk.request(req.number)
    assert req.status == "approved", entry
    return req


def customer_email(req: ReturnRequest, template: str) -> Email:
    """The one email of ``template`` the customer got about ``req``, as the outbox holds it."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.request_id == req.id, OutboundEmail.template == template
        )
    ).all()
    assert len(rows) == 1, f"{len(rows)} {template} emails"
    email = rows[0]
    assert email.written, "the delivery job writes an unwritten email before sending it"
    assert email.to_address == req.customer_email and email.language == req.language
    return Email(email.subject, email.body_text, email.body_html)


def status_url(req: ReturnRequest) -> str:
    return f"http://returndesk.test/returns/{req.shop.slug}/status/{req.public_token}"


def listed_in_text(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def listed_in_html(html: str) -> list[str]:
    return [item.strip() for item in re.findall(r"<li>(.*?)</li>", html, re.S)]


def without_request_specifics(email: Email, req: ReturnRequest) -> Email:
    """The email with the request's number and link replaced, to compare across requests."""

    def plain(part: str) -> str:
        return part.replace(status_url(req), "{status_url}").replace(req.number, "{number}")

    return Email(plain(email.subject), plain(email.text), plain(email.html))


@pytest.mark.parametrize("entry", AFTER_A_REJECTION)
def test_approval_after_a_rejected_item_lists_what_goes_back_and_why_not(desk, entry, monkeypatch):
    req = decided(desk, entry, monkeypatch, language="nl", resolution="refund", reject=True)
    email = customer_email(req, "request_approved")

    assert email.subject == f"Je retour {req.number} bij Demo Winkel is goedgekeurd"
    assert listed_in_text(email.text) == ["2 × Linnen blouse (M)", f"Wollen trui: {REJECTION}"]
    assert listed_in_html(email.html) == ["2 × Linnen blouse (M)", f"Wollen trui: {REJECTION}"]
    for body in (email.text, email.html):
        assert "Deze artikelen kunnen niet retour:" in body
        assert "Het retourneren kost €\xa05,95; dit wordt van je terugbetaling afgetrokken." in body
        assert "Sneakers" not in body
    assert f"Volgende stap: maak je retourlabel aan op je retourpagina:\n{status_url(req)}" in (
        email.text
    )
    assert re.search(
        rf'<a href="{re.escape(status_url(req))}"[^>]*>Maak je retourlabel aan</a>', email.html
    )


@pytest.mark.parametrize("entry", APPROVING)
def test_approval_without_rejections_lists_every_item_and_free_shipping(desk, entry, monkeypatch):
    req = decided(desk, entry, monkeypatch, language="en", resolution="exchange", reject=False)
    email = customer_email(req, "request_approved")

    assert email.subject == f"Your return {req.number} at Demo Winkel is approved"
    assert listed_in_text(email.text) == ["2 × Linnen blouse (M)", "1 × Wollen trui (M)"]
    assert listed_in_html(email.html) == ["2 × Linnen blouse (M)", "1 × Wollen trui (M)"]
    for body in (email.text, email.html):
        assert "Returning is free of charge." in body
        assert "cannot be returned" not in body and "Sneakers" not in body
    assert f"Next step: create your return label on your return page:\n{status_url(req)}" in (
        email.text
    )
    assert re.search(
        rf'<a href="{re.escape(status_url(req))}"[^>]*>Create your return label</a>', email.html
    )


@pytest.mark.parametrize("entry", CANCELLING)
def test_cancellation_tells_the_reason_as_the_agent_meant_it(desk, entry, monkeypatch):
    req = desk.submit("nl")
    cancel_through(desk, entry, req, monkeypatch)
    req = desk.request(req.number)
    assert req.status == "cancelled" and req.cancel_reason == CANCEL_REASON
    email = customer_email(req, "request_cancelled")

    assert email.subject == f"Je retouraanvraag {req.number} bij Demo Winkel is niet goedgekeurd"
    assert f"Reden: {CANCEL_REASON}\n" in email.text
    assert f"<strong>Reden:</strong> {CANCEL_REASON}</p>" in email.html
    assert status_url(req) in email.text and f'href="{status_url(req)}"' in email.html


def approval_emails(desk: Desk, entries, monkeypatch, **shape) -> dict[str, Email]:
    """The approval email of a request of one shape per entry point, without its specifics."""
    emails = {}
    for entry in entries:
        req = decided(desk, entry, monkeypatch, **shape)
        emails[entry] = without_request_specifics(customer_email(req, "request_approved"), req)
        monkeypatch.undo()
    return emails


def test_every_entry_point_writes_the_same_email_after_a_rejected_item(desk, monkeypatch):
    emails = approval_emails(
        desk, AFTER_A_REJECTION, monkeypatch, language="nl", resolution="refund", reject=True
    )
    assert_all_the_same(emails)


def test_every_entry_point_writes_the_same_approval_email(desk, monkeypatch):
    emails = approval_emails(
        desk, APPROVING, monkeypatch, language="en", resolution="exchange", reject=False
    )
    assert_all_the_same(emails)


def test_every_entry_point_writes_the_same_cancellation_email(desk, monkeypatch):
    emails = {}
    for entry in CANCELLING:
        req = desk.submit("nl")
        cancel_through(desk, entry, req, monkeypatch)
        monkeypatch.undo()
        emails[entry] = without_request_specifics(customer_email(req, "request_cancelled"), req)
    assert_all_the_same(emails)


def assert_all_the_same(emails: dict[str, Email]) -> None:
    (first, expected), *others = emails.items()
    for entry, email in others:
        assert email == expected, f"{entry} differs from {first}"


def test_the_api_the_emails_and_the_label_page_give_the_one_status_link(desk, client):
    req = desk.submit("en")
    desk.by_api(req, "approve")
    req = desk.request(req.number)
    answer = client.get(f"/api/v1/return-requests/{req.number}", headers=desk.bearer())
    link = answer.get_json()["status_url"]
    path = urlparse(link).path

    assert link == status_url(req)
    for template in ("request_confirmation", "request_approved"):
        assert link in customer_email(req, template).text, template
    label_page = client.get(f"{path}/label").get_data(as_text=True)
    assert f'<a href="{path}">Back to your return</a>' in label_page
    status_page = client.get(path)
    assert status_page.status_code == 200 and req.number in status_page.get_data(as_text=True)
