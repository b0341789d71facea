"""Refunds through Mollie, for a shop whose orders come by CSV or API, on Mollie's stand-in.

An order carries the Mollie payment it was paid with (the API's ``mollie_payment_id`` field,
the CSV column of that name). Resolving its return with a refund in a shop connected to
Mollie sends one refund through that payment (``POST /v2/payments/{id}/refunds`` with the
return's idempotency key), follows Mollie's status (pending → refunded, or failed) on the
return page, and emails the customer once, only when Mollie paid it out. A timeout mid-refund
retried refunds once; a refund Mollie failed shows with its message and a Retry.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key, order_body
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_user
from harness import visible
from models import Order, Refund, Return, ReturnRequest, utcnow
from mollie_standin import API_KEY, PAYMENT_ID, running_mollie, settle
from portal_helpers import choose, choose_resolution, give_details, lookup, submission_key, submit
from return_flow import create_label, emails_to, run_jobs
from services import order_import, refund_jobs
from services.connectors import ConnectorError, connections
from services.connectors.registry import connector_for

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)


@pytest.fixture
def mollie(app) -> Iterator[dict]:
    """Mollie's stand-in (mollie_standin.py) on loopback as the API endpoint; its state."""
    with running_mollie() as (url, state):
        app.config.update(
            MOLLIE_API_ENDPOINT=url,
            OUTBOUND_ALLOW_PRIVATE=True,  # the stand-in is on loopback
            CONNECTOR_BACKOFF_SECONDS=0.01,
            CONNECTOR_MAX_WAIT_SECONDS=0.3,
        )
        yield state


@pytest.fixture
def connected(shop, mollie) -> dict:
    """The shop connected to its Mollie account (the stand-in's key)."""
    connections.save_connection(
        shop.id, "mollie", "https://api.mollie.com", {"api_key": API_KEY}, ""
    )
    db.session.commit()
    return mollie


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def api_order(client, shop, **changes) -> Order:
    """Order 2001 posted by the shop's webshop through the API, paid with Mollie."""
    key = make_key(shop)
    db.session.commit()
    delivered = (utcnow() - timedelta(days=2)).isoformat()
    body = order_body("2001", customer_email="fenna@example.nl", delivered_at=delivered)
    body["mollie_payment_id"] = PAYMENT_ID
    response = client.post("/api/v1/orders", json=body | changes, headers=bearer(key))
    assert response.status_code == 201, response.json
    return db.session.scalar(select(Order).where(Order.number == "2001"))


def received_return(shop, agent, order: Order, resolution: str = "refund") -> Return:
    """The shirt and a pair of socks returned with the shop's own label, received in order."""
    request = make_request(
        shop,
        order,
        language="en",
        resolution=resolution,
        lines=[{"order_line": 0, "quantity": 1}, {"order_line": 1, "quantity": 1}],
    )
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()
    return return_


def resolve(client, return_: Return, kind: str = "refund") -> str:
    """Click "Resolve: …" on the return's page; the page it leads to."""
    response = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": kind}
    )
    run_jobs()
    db.session.expire_all()
    return visible(client.get(response.headers["Location"]).get_data(as_text=True))


def return_page(client, return_: Return) -> str:
    return visible(client.get(f"/admin/returns/{return_.id}").get_data(as_text=True))


def the_refund(return_: Return) -> Refund:
    db.session.expire_all()
    [refund] = db.session.scalars(select(Refund).where(Refund.return_id == return_.id))
    return refund


def refund_posts(state: dict) -> list[str | None]:
    """The Idempotency-Key of every refund POST the stand-in got."""
    return [key for method, path, key in state["calls"] if method == "POST"]


def follow_up() -> int:
    """The sweeper's next round, a while later: refunds Mollie has under way are asked again."""
    handed = refund_jobs.sweep_refunds(now=utcnow() + timedelta(hours=1))
    run_jobs()
    db.session.expire_all()
    return handed


def euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


# --- the order carries its payment ----------------------------------------------------------


def test_the_api_and_the_csv_import_take_the_orders_mollie_payment(client, shop):
    order = api_order(client, shop)
    key = make_key(shop)
    db.session.commit()
    shown = client.get("/api/v1/orders/2001", headers=bearer(key)).json
    refused = client.post(
        "/api/v1/orders",
        json=order_body("2002") | {"mollie_payment_id": "pay_123"},
        headers=bearer(key),
    )
    header = ",".join(order_import.CSV_COLUMNS)
    rows = [
        "3001,2026-03-01,,Anna,anna@example.com,1234 AB,NL,nl,SHIRT,Shirt,,1,29.95,,,,,,tr_Csv3001",
        "3002,2026-03-01,,Anna,anna@example.com,1234 AB,NL,nl,SHIRT,Shirt,,1,29.95,,,,,,nope",
    ]
    parsed, _result = order_import.import_csv(shop.id, io.StringIO("\n".join([header, *rows])))
    db.session.commit()

    assert order.mollie_payment_id == PAYMENT_ID and shown["mollie_payment_id"] == PAYMENT_ID
    assert refused.status_code in (400, 422)
    assert "mollie_payment_id" in refused.get_data(as_text=True)
    imported = db.session.scalar(select(Order).where(Order.number == "3001"))
    assert imported.mollie_payment_id == "tr_Csv3001"
    [bad] = parsed.errors
    assert bad.order_number == "3002" and bad.problems[0][0] == "mollie_payment_id"


def test_a_csv_without_the_column_keeps_the_payment_the_api_gave(client, shop):
    api_order(client, shop)
    columns = [c for c in order_import.CSV_COLUMNS if c not in order_import.OMISSIBLE_COLUMNS]
    row = "2001,2026-03-01,,Fenna,fenna@example.nl,1234 AB,NL,nl,SHIRT,Shirt,M,1,29.95,,"

    order_import.import_csv(shop.id, io.StringIO("\n".join([",".join(columns), row])))
    db.session.commit()
    db.session.expire_all()

    order = db.session.scalar(select(Order).where(Order.number == "2001"))
    assert order.mollie_payment_id == PAYMENT_ID


# --- the whole journey ----------------------------------------------------------------------


def test_full_cycle_on_a_csv_shop_refunds_once_through_mollie_and_emails_when_paid(
    client, auth, shop, agent, reasons, connected
):
    order = api_order(client, shop)
    shirt, socks = order.lines
    assert lookup(client, "2001", "fenna@example.nl").status_code == 302
    assert choose(client, {shirt.id: 1, socks.id: 1}).status_code == 302
    assert give_details(client, [shirt.id, socks.id], reasons["too_big"]).status_code == 302
    assert choose_resolution(client, "refund").status_code == 302
    assert submit(client, submission_key(client)).status_code == 302
    request = db.session.scalar(select(ReturnRequest))

    auth.login(agent.email)
    client.post(f"/admin/requests/{request.id}/act", data={"action": "approve"})
    db.session.expire_all()
    assert request.status == "approved"
    return_ = create_label(request)
    client.post(
        f"/admin/returns/{return_.id}/act",
        data={
            "action": "receive",
            **{f"condition-{line.id}": "ok" for line in request.lines},
            **{f"quantity-{line.id}": "1" for line in request.lines},
        },
    )
    page = resolve(client, return_)

    db.session.refresh(return_)
    assert return_.status == "resolved" and request.status == "completed"
    [made] = connected["refunds"][PAYMENT_ID]
    assert made["amount"] == {"value": euros(return_.refund_cents), "currency": "EUR"}
    assert refund_posts(connected) == [f"return-{return_.number}-refund"]
    assert made["metadata"] == {"returndesk_key": f"return-{return_.number}-refund"}
    refund = the_refund(return_)
    assert (refund.destination, refund.status, refund.provider_id) == (
        "mollie",
        "confirming",
        made["id"],
    )
    assert f"Mollie accepted the refund (its refund {made['id']})" in page
    assert "has yet to pay it out: Pending" in page
    assert emails_to("fenna@example.nl", "return_resolved") == []

    follow_up()  # Mollie is still processing it
    assert the_refund(return_).status == "confirming"
    assert emails_to("fenna@example.nl", "return_resolved") == []

    settle(connected, made["id"], "refunded")
    follow_up()
    follow_up()

    assert the_refund(return_).status == "succeeded"
    assert f"Mollie confirmed the refund (its refund {made['id']})" in return_page(client, return_)
    [email] = emails_to("fenna@example.nl", "return_resolved")
    assert f"We refunded €{euros(return_.refund_cents)} to you" in email.body_text
    assert len(connected["refunds"][PAYMENT_ID]) == 1 and len(refund_posts(connected)) == 1


def test_mollie_paying_out_at_once_confirms_and_emails_once(staff, client, shop, agent, connected):
    connected["new_refund_status"] = "refunded"
    return_ = received_return(shop, agent, api_order(client, shop))

    page = resolve(staff, return_)
    refund_jobs.follow_refund(the_refund(return_).id)
    follow_up()

    assert the_refund(return_).status == "succeeded" and "Mollie confirmed the refund" in page
    assert len(emails_to("fenna@example.nl", "return_resolved")) == 1


# --- exactly once ---------------------------------------------------------------------------


def test_a_timeout_mid_refund_then_the_retry_refunds_once(
    app, staff, client, shop, agent, connected
):
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.3
    app.config["CONNECTOR_ATTEMPTS"] = 1  # the job gives up; the sweeper's retry is the test
    connected["slow_posts"] = 1.0  # Mollie makes the refund, but answers after we gave up
    return_ = received_return(shop, agent, api_order(client, shop))

    page = resolve(staff, return_)

    refund = the_refund(return_)
    assert refund.status == "pending" and "Mollie did not answer within" in refund.provider_message
    assert "Being sent to Mollie" in page and "did not answer within" in page
    assert len(connected["refunds"][PAYMENT_ID]) == 1

    connected["slow_posts"] = 0
    follow_up()

    refund = the_refund(return_)
    [made] = connected["refunds"][PAYMENT_ID]
    assert (refund.status, refund.provider_id) == ("confirming", made["id"])
    settle(connected, made["id"], "refunded")
    follow_up()
    assert the_refund(return_).status == "succeeded"
    assert len(connected["refunds"][PAYMENT_ID]) == 1
    assert len(emails_to("fenna@example.nl", "return_resolved")) == 1


def test_the_same_key_twice_at_the_stand_in_gives_the_same_refund(shop, client, connected):
    api_order(client, shop)
    connector = connector_for(connections.connection_of(shop.id, "mollie"))

    first = connector.refund(PAYMENT_ID, 1000, [], "return-RET-1-refund", False)
    again = connector.refund(PAYMENT_ID, 1000, [], "return-RET-1-refund", False)
    other = connector.refund(PAYMENT_ID, 500, [], "return-RET-2-refund", False)

    assert first.provider_id == again.provider_id != other.provider_id
    assert first.status == "pending" and first.provider_status == "pending"
    assert [r["amount"]["value"] for r in connected["refunds"][PAYMENT_ID]] == ["10.00", "5.00"]
    assert refund_posts(connected) == ["return-RET-1-refund", "return-RET-2-refund"]


def test_followers_asking_at_once_email_once(staff, client, shop, agent, connected):
    return_ = received_return(shop, agent, api_order(client, shop))
    resolve(staff, return_)
    refund = the_refund(return_)
    settle(connected, refund.provider_id, "refunded")

    refund_jobs.follow_refund(refund.id)
    refund_jobs.follow_refund(refund.id)
    follow_up()

    assert the_refund(return_).status == "succeeded"
    assert len(emails_to("fenna@example.nl", "return_resolved")) == 1


# --- refusals, failures, retry --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message", "retryable"),
    [
        (
            (422, "The amount is higher than the amount that is refundable for this payment"),
            "Mollie answered HTTP 422: The amount is higher than the amount that is refundable",
            False,
        ),
        ((429, "Too many requests"), "Mollie answered 429 Too Many Requests.", True),
        ((503, "Service unavailable"), "Mollie answered HTTP 503: Service unavailable", True),
    ],
)
def test_a_refund_mollie_cannot_make_says_why_and_whether_to_try_again(
    app, shop, client, connected, answer, message, retryable
):
    api_order(client, shop)
    connected["answers"].extend([answer] * 5)
    connector = connector_for(connections.connection_of(shop.id, "mollie"))

    with pytest.raises(ConnectorError) as refused:
        connector.refund(PAYMENT_ID, 1000, [], "return-RET-1-refund", False)

    assert message in str(refused.value) and refused.value.retryable is retryable
    assert connected["refunds"].get(PAYMENT_ID, []) == []


def test_a_payment_mollie_does_not_know_is_named(shop, client, connected):
    api_order(client, shop)
    connector = connector_for(connections.connection_of(shop.id, "mollie"))

    with pytest.raises(ConnectorError) as refused:
        connector.refund("tr_Unknown1", 1000, [], "return-RET-1-refund", False)

    assert "Mollie answered HTTP 404: No payment exists with token tr_Unknown1." in str(
        refused.value
    )
    assert refused.value.retryable is False


def test_a_refund_mollie_failed_shows_on_the_return_and_support_retries_it(
    client, auth, staff, shop, agent, connected
):
    return_ = received_return(shop, agent, api_order(client, shop))
    resolve(staff, return_)
    [first] = connected["refunds"][PAYMENT_ID]
    settle(connected, first["id"], "failed")

    follow_up()

    refund = the_refund(return_)
    assert refund.status == "failed"
    page = return_page(staff, return_)
    assert "Mollie did not carry it out" in page
    assert f"Mollie did not pay the refund {first['id']} out (status failed)." in page
    assert emails_to("fenna@example.nl", "return_resolved") == []

    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.logout()
    auth.login("support@example.com")
    assert "Retry" in return_page(client, return_)
    client.post(f"/admin/returns/{return_.id}/act", data={"action": "retry_refund"})
    run_jobs()

    refund = the_refund(return_)
    first_again, second = connected["refunds"][PAYMENT_ID]
    assert first_again["status"] == "failed"
    assert refund.status == "confirming" and refund.provider_id == second["id"]
    assert refund_posts(connected) == [
        f"return-{return_.number}-refund",
        f"return-{return_.number}-refund-again-2",
    ]
    settle(connected, second["id"], "refunded")
    follow_up()
    assert the_refund(return_).status == "succeeded"
    assert len(emails_to("fenna@example.nl", "return_resolved")) == 1


def test_a_refused_refund_fails_at_once_with_mollies_words(staff, client, shop, agent, connected):
    return_ = received_return(shop, agent, api_order(client, shop))
    connected["answers"].append(
        (422, "The amount is higher than the amount that is refundable for this payment")
    )

    page = resolve(staff, return_)

    assert the_refund(return_).status == "failed"
    assert "Mollie did not carry it out: Mollie answered HTTP 422" in page
    assert connected["refunds"].get(PAYMENT_ID, []) == []


# --- where a refund goes --------------------------------------------------------------------


def test_an_order_without_a_mollie_payment_and_store_credit_stay_manual(
    staff, client, shop, agent, connected
):
    without = received_return(shop, agent, api_order(client, shop, mollie_payment_id=None))

    page = resolve(staff, without)

    assert the_refund(without).destination == "manual" and "Mark as refunded" in page
    assert connected["refunds"] == {}
    assert refund_jobs.destination_for(shop.id, without.request.order, "store_credit") == "manual"
    assert refund_jobs.destination_for(shop.id, without.request.order, "refund") == "manual"
    without.request.order.mollie_payment_id = PAYMENT_ID
    assert refund_jobs.destination_for(shop.id, without.request.order, "refund") == "mollie"
    assert refund_jobs.destination_for(shop.id, without.request.order, "store_credit") == "manual"


def test_mollie_on_a_private_address_is_refused_without_outbound_allow_private(
    app, staff, client, shop, agent, connected
):
    return_ = received_return(shop, agent, api_order(client, shop))
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False

    page = resolve(staff, return_)

    assert the_refund(return_).status == "failed"
    assert "The Mollie API address is refused" in page and "not a public address" in page
    assert connected["calls"] == []


def test_the_api_resolves_with_a_refund_through_mollie_and_shows_how_far_it_got(
    client, shop, agent, connected
):
    return_ = received_return(shop, agent, api_order(client, shop))
    key = make_key(shop)
    db.session.commit()

    resolved = client.post(
        f"/api/v1/returns/{return_.number}/events",
        json={"event": "resolved", "resolution": "refund"},
        headers=bearer(key),
    )
    run_jobs()
    accepted = client.get(f"/api/v1/returns/{return_.number}", headers=bearer(key)).json
    [made] = connected["refunds"][PAYMENT_ID]
    settle(connected, made["id"], "refunded")
    follow_up()
    paid = client.get(f"/api/v1/returns/{return_.number}", headers=bearer(key)).json

    assert resolved.status_code == 200, resolved.json
    assert accepted["refund"]["destination"] == "mollie"
    assert (accepted["refund"]["status"], accepted["refund"]["provider_id"]) == (
        "confirming",
        made["id"],
    )
    assert paid["refund"]["status"] == "succeeded"
    assert len(emails_to("fenna@example.nl", "return_resolved")) == 1
