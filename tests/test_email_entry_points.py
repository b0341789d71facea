"""The customer's email about a decision is the same whichever way the decision is taken.

One request shape is approved (or cancelled) through every entry point: the request page,
a row of the list, a small bulk action (in the request), a large one (a bulk job), the API
and a notice rule that approves on submission. The outbox is delivered in-process without a
mail server, so each email is the row the delivery job leaves: written at once by a single
decision, written by the job from an unwritten row after a bulk action.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from desk_helpers import (
    AFTER_A_REJECTION,
    APPROVING,
    CANCEL_REASON,
    CANCELLING,
    REJECTION,
    Desk,
    Email,
    assert_all_the_same,
    cancel_through,
    customer_email,
    decided,
    listed_in_html,
    listed_in_text,
    status_url,
    without_request_specifics,
)


@pytest.mark.parametrize("entry", AFTER_A_REJECTION)
def test_approval_after_a_rejected_item_lists_what_goes_back_and_why_not(desk, entry):
    req = decided(desk, entry, language="nl", resolution="refund", reject=True)
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
def test_approval_without_rejections_lists_every_item_and_free_shipping(desk, entry):
    req = decided(desk, entry, language="en", resolution="exchange", reject=False)
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
def test_cancellation_tells_the_reason_as_the_agent_meant_it(desk, entry):
    req = desk.submit("nl")
    cancel_through(desk, entry, req)
    req = desk.request(req.number)
    assert req.status == "cancelled" and req.cancel_reason == CANCEL_REASON
    email = customer_email(req, "request_cancelled")

    assert email.subject == f"Je retouraanvraag {req.number} bij Demo Winkel is niet goedgekeurd"
    assert f"Reden: {CANCEL_REASON}\n" in email.text
    assert f"<strong>Reden:</strong> {CANCEL_REASON}</p>" in email.html
    assert status_url(req) in email.text and f'href="{status_url(req)}"' in email.html


def approval_emails(desk: Desk, entries, **shape) -> dict[str, Email]:
    """The approval email of a request of one shape per entry point, without its specifics."""
    emails = {}
    for entry in entries:
        req = decided(desk, entry, **shape)
        emails[entry] = without_request_specifics(customer_email(req, "request_approved"), req)
    return emails


def test_every_entry_point_writes_the_same_email_after_a_rejected_item(desk):
    emails = approval_emails(
        desk, AFTER_A_REJECTION, language="nl", resolution="refund", reject=True
    )
    assert_all_the_same(emails)


def test_every_entry_point_writes_the_same_approval_email(desk):
    emails = approval_emails(desk, APPROVING, language="en", resolution="exchange", reject=False)
    assert_all_the_same(emails)


def test_every_entry_point_writes_the_same_cancellation_email(desk):
    emails = {}
    for entry in CANCELLING:
        req = desk.submit("nl")
        cancel_through(desk, entry, req)
        emails[entry] = without_request_specifics(customer_email(req, "request_cancelled"), req)
    assert_all_the_same(emails)


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
