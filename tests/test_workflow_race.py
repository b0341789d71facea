"""Two agents clicking at the same moment, in real threads against the real database."""

import threading

from sqlalchemy import func, select

import workflow
from conftest import make_shop, make_user
from extensions import db
from factories import make_request
from models import APPROVED, AuditEvent, OutboundEmail, ReturnRequest, User


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
