"""Refunds that move money and store credit that is a real code, on WooCommerce's stand-in.

A return resolved on its page with a refund or store credit, in a shop connected to
WooCommerce, reaches the stand-in exactly once (a double click, a second worker, a retry after
a timeout), with its lines, the gateway refund and the shop's restock choice; the customer is
emailed only when WooCommerce confirmed it; a refusal stays on the return page and the
dashboard with WooCommerce's message until support retries it. Without a connection the refund
is by hand, and says so.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_shop, make_user
from harness import visible
from models import Order, Refund, Return, ReturnRequest, ShopConnection, utcnow
from portal_helpers import choose, choose_resolution, give_details, lookup, submission_key, submit
from return_flow import create_label, emails_to, run_jobs
from services import refund_jobs
from services.connectors import ConnectorError, RefundLine, connections
from services.connectors import orders as connector_orders
from services.connectors.registry import connector_for
from woocommerce_standin import CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET, webhook, woo_order

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)

ORDER_ID = woo_order(1001)["id"]  # WooCommerce's id of order number 1001
GATEWAY_REFUSAL = (
    500,
    "woocommerce_rest_cannot_create_order_refund",
    "Mollie: the payment was charged back and cannot be refunded.",
)


def connect(shop, url: str) -> ShopConnection:
    connection = connections.save_connection(
        shop.id,
        "woocommerce",
        url,
        {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET},
        WEBHOOK_SECRET,
    )
    db.session.commit()
    return connection


def received_return(shop, agent, resolution: str = "refund") -> Return:
    """WooCommerce order 1001 (a shirt of two and socks), synced; one shirt and the socks
    returned with the shop's own label and received in good order."""
    order = db.session.scalar(select(Order).where(Order.number == "1001"))
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


@pytest.fixture
def woo(shop, woocommerce):
    """The shop connected to the stand-in, which has order 1001, synced into ReturnDesk."""
    url, state = woocommerce
    state["orders"].append(woo_order(1001))
    connection = connect(shop, url)
    connector_orders.sync_orders(connection.id)
    return state


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def resolve(client, return_: Return, kind: str = "refund") -> str:
    """Click "Resolve: …" on the return's page; the page it leads to."""
    response = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": kind}
    )
    run_jobs()
    db.session.expire_all()
    return client.get(response.headers["Location"]).get_data(as_text=True)


def the_refund(return_: Return) -> Refund:
    db.session.expire_all()
    [refund] = db.session.scalars(select(Refund).where(Refund.return_id == return_.id))
    return refund


def refund_posts(state) -> list[dict]:
    return [
        query
        for _at, path, query in state["calls"]
        if path.endswith("/refunds") and "method" in query
    ]


def euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


# --- the contract ---------------------------------------------------------------------------


def test_a_refund_pays_the_lines_back_through_the_gateway_restocks_and_emails_once(
    staff, shop, agent, woo
):
    return_ = received_return(shop, agent)

    page = visible(resolve(staff, return_))

    db.session.refresh(return_)
    [made] = woo["refunds"][ORDER_ID]
    assert made["amount"] == euros(return_.refund_cents)
    assert made["refunded_payment"] is True  # api_refund: the payment gateway pays it back
    assert made["restocked"] is True
    assert [(line["refunded_item_id"], line["quantity"]) for line in made["line_items"]] == [
        (1, -1),
        (2, -1),
    ]
    assert woo["stock"] == {31: 1, 40: 1}
    [posted] = refund_posts(woo)
    assert posted["api_restock"] is True and posted["api_refund"] is True
    assert sum(float(line["refund_total"]) for line in posted["line_items"]) >= float(
        made["amount"]
    )
    refund = the_refund(return_)
    assert (refund.status, refund.provider_id, refund.destination) == (
        "succeeded",
        str(made["id"]),
        "woocommerce",
    )
    assert refund.idempotency_key == f"return-{return_.number}-refund"
    assert f"WooCommerce confirmed the refund (its refund {made['id']})" in page
    [email] = emails_to(return_.request.customer_email, "return_resolved")
    amount = f"€{return_.refund_cents / 100:.2f}"
    assert f"We refunded {amount} to you" in email.body_text


def test_a_shop_that_does_not_restock_refunds_without_restocking(client, auth, shop, agent, woo):
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    page = client.get(f"/admin/shop_connections/{shop.id}").get_data(as_text=True)
    assert "Put refunded items back in stock" in page and "checked" in page
    client.post(
        f"/admin/shop_connections/{shop.id}",
        data={"base_url": connections.connection_of(shop.id, "woocommerce").base_url},
    )
    db.session.expire_all()
    assert connections.connection_of(shop.id, "woocommerce").restock_on_refund is False
    return_ = received_return(shop, agent)

    resolve(client, return_)

    [made] = woo["refunds"][ORDER_ID]
    assert made["restocked"] is False and woo["stock"] == {}
    assert refund_posts(woo)[0]["api_restock"] is False


def test_store_credit_is_a_single_use_coupon_for_the_customer_and_the_email_gives_its_code(
    staff, shop, agent, woo
):
    return_ = received_return(shop, agent, resolution="store_credit")

    page = visible(resolve(staff, return_, "store_credit"))

    db.session.refresh(return_)
    [coupon] = woo["coupons"]
    refund = the_refund(return_)
    code = refund.provider_id
    assert coupon["code"] == code.lower()
    assert coupon["discount_type"] == "fixed_cart"
    assert coupon["amount"] == euros(return_.refund_cents)
    assert coupon["usage_limit"] == 1
    assert coupon["email_restrictions"] == [return_.request.customer_email]
    assert code.startswith("RD-") and len(code) == 22 and return_.number not in code
    assert f"WooCommerce made the store credit: code {code}." in page
    [email] = emails_to(return_.request.customer_email, "return_resolved")
    assert f"store credit of €{return_.refund_cents / 100:.2f}" in email.body_text
    assert f"enter the code {code} at checkout" in email.body_text


def woo_connector(shop):
    return connector_for(connections.connection_of(shop.id, "woocommerce"))


SHIRT_AND_SOCKS = [RefundLine("SHIRT-LIN", 1, 1745), RefundLine("woo-40", 1, 1000)]


def test_the_connector_refunds_once_per_key(shop, woo):
    connector = woo_connector(shop)

    first = connector.refund("1001", 2745, SHIRT_AND_SOCKS, "return-RET-1-refund", True)
    again = connector.refund("1001", 2745, SHIRT_AND_SOCKS, "return-RET-1-refund", True)
    other = connector.refund("1001", 500, SHIRT_AND_SOCKS[:1], "return-RET-2-refund", False)

    assert first.provider_id == again.provider_id != other.provider_id
    made = woo["refunds"][ORDER_ID]
    assert [(r["amount"], r["restocked"]) for r in made] == [("27.45", True), ("5.00", False)]
    assert made[0]["meta_data"][0]["value"] == "return-RET-1-refund"
    assert [(line["refunded_item_id"], line["total"]) for line in made[0]["line_items"]] == [
        (1, "-17.45"),
        (2, "-10.00"),
    ]


def test_store_credit_asked_twice_is_one_coupon_with_one_code(shop, woo):
    connector = woo_connector(shop)

    first = connector.issue_store_credit("fenna@example.nl", 2500, "return-RET-1-store_credit")
    again = connector.issue_store_credit("fenna@example.nl", 2500, "return-RET-1-store_credit")
    other = connector.issue_store_credit("fenna@example.nl", 2500, "return-RET-2-store_credit")

    assert first.provider_id == again.provider_id != other.provider_id
    assert [c["code"] for c in woo["coupons"]] == [
        first.provider_id.lower(),
        other.provider_id.lower(),
    ]


@pytest.mark.parametrize(
    ("order", "lines", "answer", "message", "retryable"),
    [
        ("1002", SHIRT_AND_SOCKS, None, "WooCommerce has no order 1002.", False),
        (
            "1001",
            [RefundLine("HAT-9", 1, 500)],
            None,
            "WooCommerce order 1001 has no line with SKU HAT-9.",
            False,
        ),
        (
            "1001",
            SHIRT_AND_SOCKS,
            (400, "woocommerce_rest_invalid_order_refund", "Refund amount is too high."),
            "WooCommerce answered HTTP 400: Refund amount is too high.",
            False,
        ),
        ("1001", SHIRT_AND_SOCKS, GATEWAY_REFUSAL, GATEWAY_REFUSAL[2], True),
    ],
)
def test_a_refund_woocommerce_cannot_make_says_why_and_whether_to_try_again(
    shop, woo, order, lines, answer, message, retryable
):
    if answer:
        woo["post_answers"].append(answer)

    with pytest.raises(ConnectorError) as refused:
        woo_connector(shop).refund(order, 2745, lines, "return-RET-1-refund", True)

    assert message in str(refused.value) and refused.value.retryable is retryable
    assert woo["refunds"].get(ORDER_ID, []) == []


def test_the_api_resolves_with_a_refund_at_woocommerce_and_shows_how_far_it_got(
    client, shop, agent, woo
):
    return_ = received_return(shop, agent)
    key = make_key(shop)
    db.session.commit()

    resolved = client.post(
        f"/api/v1/returns/{return_.number}/events",
        json={"event": "resolved", "resolution": "refund"},
        headers=bearer(key),
    )
    run_jobs()
    shown = client.get(f"/api/v1/returns/{return_.number}", headers=bearer(key)).json

    assert resolved.status_code == 200, resolved.json
    assert resolved.json["refund"]["status"] == "pending"  # answered before the job ran
    [made] = woo["refunds"][ORDER_ID]
    assert shown["refund"] == {
        "kind": "refund",
        "amount_cents": shown["refund_cents"],
        "currency": "EUR",
        "destination": "woocommerce",
        "status": "succeeded",
        "provider_id": str(made["id"]),
        "message": None,
    }


# --- exactly once ---------------------------------------------------------------------------


def test_a_double_click_and_a_second_worker_give_one_refund(staff, shop, agent, woo):
    return_ = received_return(shop, agent)

    resolve(staff, return_)
    second = visible(resolve(staff, return_))
    refund_jobs.send_refund(the_refund(return_).id)  # a second worker, or the job enqueued twice
    refund_jobs.start_refund_job(the_refund(return_).id)

    assert "cannot become resolved" in second
    assert db.session.scalar(select(func.count(Refund.id))) == 1
    assert len(woo["refunds"][ORDER_ID]) == 1 and len(refund_posts(woo)) == 1
    assert len(emails_to(return_.request.customer_email, "return_resolved")) == 1


def test_two_workers_sending_the_same_refund_at_once_refund_once(app, shop, agent, woo):
    woo["slow_posts"] = 0.3
    return_ = received_return(shop, agent)
    refund = refund_jobs.resolve(return_, agent, "refund")
    db.session.commit()
    refund_id = refund.id
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            refund_jobs.send_refund(refund_id)

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for each in workers:
        each.start()
    for each in workers:
        each.join(timeout=30)

    assert the_refund(return_).status == "succeeded"
    assert len(woo["refunds"][ORDER_ID]) == 1 and len(refund_posts(woo)) == 1
    assert len(emails_to(return_.request.customer_email, "return_resolved")) == 1


def test_a_timeout_mid_refund_then_the_retry_refunds_once(app, staff, shop, agent, woo):
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.3
    woo["slow_posts"] = 1.0  # WooCommerce refunds, but answers after we gave up
    return_ = received_return(shop, agent)

    page = visible(resolve(staff, return_))

    refund = the_refund(return_)
    assert refund.status == "pending" and "did not answer within" in refund.provider_message
    assert "Being sent to WooCommerce" in page and "did not answer within" in page
    assert emails_to(return_.request.customer_email, "return_resolved") == []
    assert len(woo["refunds"][ORDER_ID]) == 1
    status_page = f"/returns/demo/status/{return_.request.public_token}"
    assert "Expected refund" in visible(staff.get(status_page).get_data(as_text=True))

    woo["slow_posts"] = 0
    assert refund_jobs.sweep_refunds(now=utcnow() + timedelta(hours=1)) == 1
    run_jobs()

    refund = the_refund(return_)
    assert refund.status == "succeeded"
    assert refund.provider_id == str(woo["refunds"][ORDER_ID][0]["id"])
    assert len(woo["refunds"][ORDER_ID]) == 1 and len(refund_posts(woo)) == 1
    assert len(emails_to(return_.request.customer_email, "return_resolved")) == 1
    assert "We refunded" in visible(staff.get(status_page).get_data(as_text=True))


# --- failure, shown and retried -------------------------------------------------------------


def fail_for_good(woo, return_: Return) -> None:
    """WooCommerce refuses every attempt the refund job makes until it gives up."""
    woo["post_answers"].extend([GATEWAY_REFUSAL] * 10)
    later = utcnow()
    while the_refund(return_).status != "failed":
        later += timedelta(hours=1)
        refund_jobs.sweep_refunds(now=later)
        run_jobs()
    woo["post_answers"].clear()


def test_a_refused_refund_shows_the_message_on_the_return_and_the_dashboard_and_support_retries(
    client, auth, staff, shop, agent, woo
):
    return_ = received_return(shop, agent)
    woo["post_answers"].append(GATEWAY_REFUSAL)
    resolve(staff, return_)
    fail_for_good(woo, return_)

    message = "cannot be refunded"
    page = visible(staff.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    dashboard = visible(staff.get("/admin/").get_data(as_text=True))
    assert "WooCommerce did not carry it out" in page and message in page
    assert "Retry" not in page  # an agent; the shop's admin or support retries
    assert "Refunds that failed" in dashboard and return_.number in dashboard
    assert message in dashboard
    assert emails_to(return_.request.customer_email, "return_resolved") == []
    refused = staff.post(f"/admin/returns/{return_.id}/act", data={"action": "retry_refund"})
    assert refused.status_code == 403

    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.logout()
    auth.login("support@example.com")
    assert "Retry" in visible(client.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    client.post(f"/admin/returns/{return_.id}/act", data={"action": "retry_refund"})
    run_jobs()

    refund = the_refund(return_)
    assert refund.status == "succeeded" and len(woo["refunds"][ORDER_ID]) == 1
    assert len(emails_to(return_.request.customer_email, "return_resolved")) == 1
    assert "Refunds that failed" not in visible(client.get("/admin/").get_data(as_text=True))


def test_another_shops_admin_cannot_retry_a_refund(client, auth, staff, shop, agent, woo):
    return_ = received_return(shop, agent)
    woo["post_answers"].append(GATEWAY_REFUSAL)
    resolve(staff, return_)
    fail_for_good(woo, return_)
    other = make_shop("other", "Other Shop")
    make_user("admin@other.example", other, role="admin")
    db.session.commit()
    auth.logout()
    auth.login("admin@other.example")

    response = client.post(f"/admin/returns/{return_.id}/act", data={"action": "retry_refund"})

    assert response.status_code in (403, 404)
    assert the_refund(return_).status == "failed"


# --- by hand --------------------------------------------------------------------------------


def test_without_a_connection_the_refund_is_by_hand_and_marked_refunded(staff, shop, agent):
    request = make_request(shop, language="en", resolution="refund")
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()

    page = visible(resolve(staff, return_))

    assert "Refund by hand in your shop's back office" in page and "Mark as refunded" in page
    refund = the_refund(return_)
    assert (refund.destination, refund.status) == ("manual", "pending")
    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})
    page = visible(staff.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    assert the_refund(return_).status == "succeeded"
    assert "Refunded by hand in the shop's back office." in page
    assert "marked the refund as done in the shop's back office" in page
    emails = emails_to(request.customer_email, "return_resolved")
    accepted, refunded = sorted(emails, key=lambda email: email.id)
    assert "Expected refund" in accepted.body_text and "We refunded" not in accepted.body_text
    assert "We refunded" in refunded.body_text


# --- the whole journey ----------------------------------------------------------------------


def test_full_cycle_from_the_order_webhook_to_the_refund_at_woocommerce(
    client, auth, shop, agent, reasons, woocommerce
):
    url, woo = woocommerce
    connect(shop, url)
    placed = woo_order(1001, modified=utcnow() - timedelta(days=1))
    woo["orders"].append(placed)
    body, headers = webhook(placed, topic="order.created")
    assert (
        client.post("/connectors/demo/woocommerce/orders", data=body, headers=headers).status_code
        == 200
    )

    order = db.session.scalar(select(Order).where(Order.number == "1001"))
    shirt, socks = order.lines
    assert lookup(client, "1001", "fenna@example.nl").status_code == 302
    assert choose(client, {shirt.id: 1, socks.id: 1}).status_code == 302
    assert give_details(client, [shirt.id, socks.id], reasons["too_big"]).status_code == 302
    assert choose_resolution(client, "refund").status_code == 302
    assert submit(client, submission_key(client)).status_code == 302
    request = db.session.scalar(select(ReturnRequest))

    auth.login(agent.email)
    client.post(f"/admin/requests/{request.id}/act", data={"action": "approve"})
    db.session.expire_all()
    assert request.status == "approved"
    return_ = create_label(request)  # the customer's own label
    client.post(
        f"/admin/returns/{return_.id}/act",
        data={
            "action": "receive",
            **{f"condition-{line.id}": "ok" for line in request.lines},
            **{f"quantity-{line.id}": "1" for line in request.lines},
        },
    )
    page = visible(resolve(client, return_))

    db.session.refresh(return_)
    assert return_.status == "resolved" and request.status == "completed"
    [made] = woo["refunds"][ORDER_ID]
    assert made["amount"] == euros(return_.refund_cents) and made["refunded_payment"] is True
    assert woo["stock"] == {31: 1, 40: 1}
    assert "WooCommerce confirmed the refund" in page
    [email] = emails_to("fenna@example.nl", "return_resolved")
    assert f"We refunded €{return_.refund_cents / 100:.2f} to you" in email.body_text


def test_a_failed_refund_marked_refunded_by_hand_emails_the_customer_once(staff, shop, agent, woo):
    return_ = received_return(shop, agent)
    woo["post_answers"].append(GATEWAY_REFUSAL)
    resolve(staff, return_)
    fail_for_good(woo, return_)

    page = visible(staff.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    assert "Or refund it by hand in your shop's back office" in page
    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})
    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})

    assert the_refund(return_).status == "succeeded"
    assert woo["refunds"].get(ORDER_ID, []) == []
    [email] = emails_to(return_.request.customer_email, "return_resolved")
    assert "We refunded" in email.body_text
