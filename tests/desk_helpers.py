"""A shop's desk driven through every way a request is decided, and the emails it leaves.

``Desk`` submits requests as the webshop does (the API) and decides them through each entry
point: the request page, a row of the list, a small bulk action (in the request), a large
one (a bulk job), the API and a notice rule that approves on submission. Without a mail
server the outbox keeps each email as the delivery job wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import make_order, make_reason, make_shop, make_user
from harness import AuthActions
from models import NoticeRule, OutboundEmail, ReturnRequest, Shop, User

REJECTION = "Gedragen: het label is eraf geknipt."
CANCEL_REASON = "Buiten de retourtermijn van 30 dagen."
EXCHANGE_NOTE = "Maat L"

# The entry points an agent can reject an item before (on the request page), and the rest.
AFTER_A_REJECTION = ("request_page", "list_row", "bulk_inline", "bulk_job")
APPROVING = (*AFTER_A_REJECTION, "api", "rule")
CANCELLING = ("request_page", "bulk_inline", "bulk_job", "api")
# Where an agent approves with the items kept: the request page's button and the API.
KEEPING = ("request_page", "api")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass
class Desk:
    """A shop with its agent logged in and an API key for its webshop."""

    client: FlaskClient
    shop: Shop
    agent: User
    key: str

    def submit(self, language: str, resolution: str = "refund") -> ReturnRequest:
        """Two of an order's three lines (two blouses, one jumper), submitted through the API
        as the webshop would; an exchange asks for size L."""
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
            body["exchange_note"] = EXCHANGE_NOTE
        response = self.client.post("/api/v1/return-requests", json=body, headers=self.bearer())
        assert response.status_code == 201, response.get_json()
        return self.request(response.get_json()["number"])

    def request(self, number: str) -> ReturnRequest:
        db.session.expire_all()
        return db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))

    def bearer(self) -> dict:
        return bearer(self.key)

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

    def bulk_as_job(self, req: ReturnRequest, action: str, **form) -> None:
        """The same bulk action, run as the job a large selection gets."""
        with as_bulk_job():
            self.bulk(req, action, **form)

    def by_api(self, req: ReturnRequest, action: str, **body) -> None:
        response = self.client.post(
            f"/api/v1/return-requests/{req.number}/actions",
            json={"action": action, **body},
            headers=self.bearer(),
        )
        assert response.status_code == 200, response.get_json()


@contextmanager
def as_bulk_job() -> Iterator[None]:
    """Every bulk selection runs as a job (the limit for running it in the request is 0)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workflow, "BULK_INLINE_LIMIT", 0)
        yield


def open_desk(client: FlaskClient, auth: AuthActions, **shop_fields: Any) -> Desk:
    """Demo Winkel (return fee €5.95 unless ``shop_fields`` say otherwise) with reason
    "too_small", its agent Anna logged in and an API key; emails stay in the outbox (no mail
    server)."""
    client.application.config["MAIL_SERVER"] = None
    shop = make_shop(**{"return_fee_cents": 595, **shop_fields})
    make_reason(shop)
    agent = make_user("anna@example.com", shop, name="Anna")
    key = make_key(shop)
    db.session.commit()
    auth.login("anna@example.com")
    return Desk(client=client, shop=shop, agent=agent, key=key)


def approve_through(desk: Desk, entry: str, req: ReturnRequest, *, keep: bool = False) -> None:
    """Approve ``req`` through ``entry`` (with the items kept: the page's button or the API)."""
    if keep:
        assert entry in KEEPING, entry
    if entry == "request_page":
        desk.act_on_page(req, "approve_keep" if keep else "approve")
    elif entry == "list_row":
        desk.approve_in_list_row(req)
    elif entry == "bulk_inline":
        desk.bulk(req, "approve")
    elif entry == "bulk_job":
        desk.bulk_as_job(req, "approve")
    elif entry == "api":
        desk.by_api(req, "approve", keep_items=keep)
    else:
        raise ValueError(entry)


def cancel_through(desk: Desk, entry: str, req: ReturnRequest) -> None:
    """The reason as an agent pastes it, with the stray spaces and newline of a paste."""
    typed = f"  {CANCEL_REASON}\n"
    if entry == "request_page":
        desk.act_on_page(req, "cancel", reason=typed)
    elif entry == "bulk_inline":
        desk.bulk(req, "cancel", reason=typed)
    elif entry == "bulk_job":
        desk.bulk_as_job(req, "cancel", reason=typed)
    elif entry == "api":
        desk.by_api(req, "cancel", reason=typed)
    else:
        raise ValueError(entry)


def add_rule(desk: Desk, name: str, action: str) -> NoticeRule:
    """A rule matching every request that performs ``action``; rules act oldest first."""
    rule = NoticeRule(
        shop_id=desk.shop.id,
        name=name,
        conditions=[{"kind": "more_items_than", "count": 0}],
        severity="info",
        action=action,
        message_nl=name,
        message_en=name,
    )
    db.session.add(rule)
    return rule


def approved_by_rule(
    desk: Desk, language: str, resolution: str, *, free_shipping: bool = False
) -> ReturnRequest:
    """A rule "approve automatically" matching every request, then a submission it approves;
    with ``free_shipping`` an older rule first switches free shipping on."""
    rules = [add_rule(desk, "Gratis", "free_shipping_on")] if free_shipping else []
    rules.append(add_rule(desk, "Everything", "approve"))
    db.session.commit()
    req = desk.submit(language, resolution)
    for rule in rules:  # switched off, as support would
        db.session.get(NoticeRule, rule.id).active = False
    db.session.commit()
    return req


def decided(
    desk: Desk,
    entry: str,
    *,
    language: str,
    resolution: str,
    reject: bool,
    free_shipping: bool = False,
    keep: bool = False,
) -> ReturnRequest:
    """A submitted request of the shape, approved through ``entry``; returns it as it is now.

    Free shipping is switched on through the workflow before the decision (a notice rule
    does it for the rule's own approval): the toggle is not what is tried here.
    """
    if entry == "rule":
        assert not (reject or keep), "a rule approves on submission, before any agent"
        req = approved_by_rule(desk, language, resolution, free_shipping=free_shipping)
    else:
        req = desk.submit(language, resolution)
        if free_shipping:
            workflow.set_free_shipping(req, None, True)
            db.session.commit()
        if reject:
            desk.reject_second_item(req)
        approve_through(desk, entry, desk.request(req.number), keep=keep)
    req = desk.request(req.number)
    assert req.status == "approved", entry
    assert req.keep_items == keep and (req.free_shipping or not free_shipping), entry
    return req


def customer_email(req: ReturnRequest, template: str) -> Email:
    """The one email of ``template`` the customer got about ``req``, as the outbox holds it."""
    [email] = customer_emails(req, template)
    return email


def customer_emails(req: ReturnRequest, template: str) -> list[Email]:
    """Every email of ``template`` the customer got about ``req``, oldest first."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.request_id == req.id, OutboundEmail.template == template)
        .order_by(OutboundEmail.id)
    ).all()
    for row in rows:
        assert row.written, "the delivery job writes an unwritten email before sending it"
        assert row.to_address == req.customer_email and row.language == req.language
    return [Email(row.subject, row.body_text, row.body_html) for row in rows]


def status_path(req: ReturnRequest) -> str:
    return f"/returns/{req.shop.slug}/status/{req.public_token}"


def status_url(req: ReturnRequest) -> str:
    return f"http://returndesk.test{status_path(req)}"


def listed_in_text(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def listed_in_html(html: str) -> list[str]:
    return [item.strip() for item in re.findall(r"<li>(.*?)</li>", html, re.S)]


def without_request_specifics(email: Email, req: ReturnRequest) -> Email:
    """The email with the request's number and link replaced, to compare across requests."""

    def plain(part: str) -> str:
        return part.replace(status_url(req), "{status_url}").replace(req.number, "{number}")

    return Email(plain(email.subject), plain(email.text), plain(email.html))


def assert_all_the_same(emails: dict[str, Email]) -> None:
    (first, expected), *others = emails.items()
    for entry, email in others:
        assert email == expected, f"{entry} differs from {first}"
