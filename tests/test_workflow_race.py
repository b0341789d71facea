"""Two people clicking at the same moment, in real threads against the real database.

They run on SQLite and on PostgreSQL alike (``DATABASE_URL``): on both, exactly one wins.
"""

import threading

from sqlalchemy import func, select, update

from api_helpers import delivered_order, make_key, post_request, request_body
from domain import workflow
from extensions import db
from factories import make_order, make_reasons, make_request, make_shop, make_user
from harness import AuthActions
from models import (
    APPROVED,
    ON_HOLD,
    AuditEvent,
    Membership,
    Order,
    OutboundEmail,
    ReturnRequest,
    ReturnRequestLine,
    User,
)
from portal_helpers import (
    PORTAL_ORDER,
    choose,
    choose_resolution,
    give_details,
    lookup,
    submission_key,
    submit,
)


def click_approve(app, request_id, user_id, barrier, outcomes):
    with app.app_context():
        request = db.session.get(ReturnRequest, request_id)
        user = db.session.get(User, user_id)
        assert request.lines, "both agents look at the same lines"
        barrier.wait()
        try:
            workflow.approve(request, user)
            db.session.commit()
            outcomes.append(("approved", user.name))
        except workflow.TransitionRefused as refused:
            db.session.rollback()
            outcomes.append(("refused", str(refused)))


def test_two_agents_approving_at_once_give_one_transition_one_audit_one_email(app, smtp_sink):
    shop = make_shop()
    anna = make_user("anna@example.com", shop, name="Anna")
    bram = make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop, language="en")
    db.session.commit()
    for _ in range(5):
        outcomes = []
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(
                target=click_approve, args=(app, request.id, user.id, barrier, outcomes)
            )
            for user in (anna, bram)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [name for outcome, name in outcomes if outcome == "approved"]
        [refusal] = [message for outcome, message in outcomes if outcome == "refused"]
        assert len(winners) == 1
        assert refusal == f"Already approved by {winners[0]}."
        db.session.expire_all()
        assert db.session.get(ReturnRequest, request.id).status == APPROVED
        audits = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "approve")
        )
        assert audits == 1
        assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 1
        assert len(smtp_sink.to(request.customer_email)) == 1
        # reset for the next round: a fresh request
        request = make_request(shop, language="en")
        db.session.commit()
        smtp_sink.clear()
        db.session.execute(AuditEvent.__table__.delete())
        db.session.execute(OutboundEmail.__table__.delete())
        db.session.commit()


def at_once(*clicks) -> list:
    """Run each click in its own thread, released together; their results, in click order."""
    barrier = threading.Barrier(len(clicks))
    results: list = [None] * len(clicks)

    def run(index, click):
        barrier.wait()
        try:
            results[index] = click()
        except Exception as exc:  # surfaced below, so a crash in a thread fails the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def claimed_units(order_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.coalesce(func.sum(ReturnRequestLine.quantity), 0))
        .join(ReturnRequest)
        .where(ReturnRequest.order_id == order_id)
    )


def walk_to_review(tab, order, reasons) -> None:
    """One customer's browser tab: find the order, choose its only unit, up to the review."""
    assert lookup(tab, order.number).status_code == 302
    line = order.lines[0].id
    assert choose(tab, {line: 1}).status_code == 302
    assert give_details(tab, [line], reasons["too_big"]).status_code == 302
    assert choose_resolution(tab).status_code == 302


def test_two_customers_submitting_the_last_unit_at_once_get_one_request(client, app):
    shop = make_shop()
    reasons = make_reasons(shop)
    db.session.commit()
    for round_ in range(5):
        scarf = {"product_name": "Wollen sjaal", "quantity": 1, "unit_price_cents": 2995}
        order = make_order(shop, **PORTAL_ORDER | {"number": f"LAST-{round_}", "lines": [scarf]})
        db.session.commit()
        tabs = [app.test_client(), app.test_client()]
        keys = []
        for tab in tabs:
            tab.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
            walk_to_review(tab, order, reasons)
            keys.append(submission_key(tab))

        first, second = at_once(
            *(lambda t=t, k=k: submit(t, k) for t, k in zip(tabs, keys, strict=True))
        )

        landed = sorted("status" if "/status/" in r.location else "items" for r in (first, second))
        assert landed == ["items", "status"], "exactly one customer gets the last unit"
        assert claimed_units(order.id) == 1


def test_two_api_calls_for_the_last_units_at_once_give_one_201_and_one_409(client):
    shop = make_shop()
    key = make_key(shop)
    db.session.commit()
    for round_ in range(5):
        order = delivered_order(client, key, number=f"API-{round_}")
        body = request_body(order)

        responses = at_once(*(lambda b=body: post_request(client, key, b) for _ in range(2)))

        assert sorted(r.status_code for r in responses) == [201, 409]
        order_id = db.session.scalar(select(Order.id).filter_by(number=order["number"]))
        assert claimed_units(order_id) == 2


def click_hold(app, request_id, user_id):
    with app.app_context():
        request = db.session.get(ReturnRequest, request_id)
        user = db.session.get(User, user_id)
        try:
            workflow.hold(request, user)
            db.session.commit()
            return "held"
        except workflow.TransitionRefused as refused:
            db.session.rollback()
            return str(refused)


def test_two_agents_holding_at_once_give_one_hold_by_one_of_them(app):
    shop = make_shop()
    anna = make_user("anna@example.com", shop, name="Anna")
    bram = make_user("bram@example.com", shop, name="Bram")
    db.session.commit()
    for _ in range(5):
        request = make_request(shop, language="en")
        db.session.commit()

        outcomes = at_once(
            *(lambda u=u, r=request.id: click_hold(app, r, u) for u in (anna.id, bram.id))
        )

        assert outcomes.count("held") == 1
        db.session.expire_all()
        held = db.session.get(ReturnRequest, request.id)
        holder = (anna.id, bram.id)[outcomes.index("held")]
        assert (held.status, held.held_by_id) == (ON_HOLD, holder)
        holds = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.request_id == request.id, AuditEvent.action == "hold")
        )
        assert holds == 1


def test_two_admins_demoting_each_other_at_once_leave_the_shop_one_admin(client, app):
    shop = make_shop()
    admins = [make_user(f"admin{n}@example.com", shop, role="admin") for n in (1, 2)]
    db.session.commit()
    for _ in range(5):
        browsers = []
        for admin in admins:
            browser = app.test_client()
            assert AuthActions(browser).login(admin.email).status_code == 302
            browsers.append(browser)
        memberships = [
            db.session.scalar(select(Membership.id).filter_by(user_id=a.id)) for a in admins
        ]

        at_once(
            *(
                lambda b=browser, m=other: b.post(
                    "/admin/team/role", data={"membership_id": m, "role": "agent"}
                )
                for browser, other in zip(browsers, reversed(memberships), strict=True)
            )
        )

        db.session.expire_all()
        roles = db.session.scalars(select(Membership.role).filter_by(shop_id=shop.id)).all()
        assert sorted(roles) == ["admin", "agent"]
        db.session.execute(update(Membership).values(role="admin"))
        db.session.commit()
