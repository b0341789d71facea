"""Property-based test of the state machine: random actions by several users, checked invariants."""

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from domain import audit, workflow
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from harness import empty_all_tables
from models import ON_HOLD, AuditEvent, OutboundEmail, ReturnRequest

ACTIONS = [
    "hold",
    "release",
    "take_over",
    "concept",
    "new",
    "approve",
    "cancel",
    "reopen",
    "free_on",
    "free_off",
    "label",
    "complete",
]
BULK = ["concept", "approve", "cancel", "hold", "release", "free_shipping_on", "free_shipping_off"]


def perform(action, request, user):
    operations = {
        "hold": lambda: workflow.hold(request, user),
        "release": lambda: workflow.release(request, user),
        "take_over": lambda: workflow.take_over(request, user),
        "concept": lambda: workflow.set_concept(request, user),
        "new": lambda: workflow.set_new(request, user),
        "approve": lambda: workflow.approve(request, user),
        "cancel": lambda: workflow.cancel(request, user, "reason"),
        "reopen": lambda: workflow.reopen(request, user),
        "free_on": lambda: workflow.set_free_shipping(request, user, True),
        "free_off": lambda: workflow.set_free_shipping(request, user, False),
        "label": lambda: workflow.mark_label_created(request, audit.Actor(label="customer")),
        "complete": lambda: workflow.complete(request, user),
    }
    operations[action]()


class ReviewMachine(RuleBasedStateMachine):
    """Several staff act on a few requests; the database must always tell a consistent story."""

    @initialize()
    def setup(self):
        db.session.rollback()
        empty_all_tables()
        shop = make_shop()
        self.users = [
            make_user("anna@example.com", shop, name="Anna"),
            make_user("bram@example.com", shop, name="Bram"),
            make_user("boss@example.com", shop, role="admin", name="Boss"),
        ]
        order = make_order(shop, lines=2)
        self.requests = [make_request(shop, order=order) for _ in range(3)]
        db.session.commit()
        self.request_ids = [r.id for r in self.requests]
        self.decisions = Counter()  # successful approve/cancel per request
        self.changes = Counter()  # successful status changes per request

    def snapshot(self, request_id):
        db.session.expire_all()
        request = db.session.get(ReturnRequest, request_id)
        return request.status, request.held_by_id, request.free_shipping, request.version

    @rule(action=st.sampled_from(ACTIONS), which=st.integers(0, 2), who=st.integers(0, 2))
    def act(self, action, which, who):
        request_id, user = self.request_ids[which], self.users[who]
        before = self.snapshot(request_id)
        request = db.session.get(ReturnRequest, request_id)
        try:
            perform(action, request, user)
            db.session.commit()
        except workflow.TransitionRefused:
            db.session.rollback()
            assert self.snapshot(request_id) == before, "a refused action changed the request"
            return
        after = self.snapshot(request_id)
        status_before, holder_before = before[0], before[1]
        if status_before == ON_HOLD and holder_before != user.id:
            assert action == "take_over", (
                f"{user.name} changed a request held by someone else with {action}"
            )
        if after[0] != status_before:
            assert (status_before, after[0]) in workflow.TRANSITIONS
            self.changes[request_id] += 1
        if action in ("approve", "cancel"):
            self.decisions[request_id] += 1

    @rule(
        action=st.sampled_from(BULK),
        who=st.integers(0, 2),
        subset=st.sets(st.integers(0, 2), min_size=1),
    )
    def bulk(self, action, who, subset):
        user = self.users[who]
        ids = [self.request_ids[i] for i in sorted(subset)]
        before = {i: self.snapshot(i) for i in ids}
        outcome = workflow.bulk_apply(action, ids, user, reason="bulk reason")
        db.session.commit()
        changed = 0
        for request_id in ids:
            after = self.snapshot(request_id)
            status_before, holder_before = before[request_id][0], before[request_id][1]
            if after != before[request_id]:
                changed += 1
                assert not (status_before == ON_HOLD and holder_before != user.id), (
                    "bulk changed a colleague's hold"
                )
            if after[0] != status_before:
                assert (status_before, after[0]) in workflow.TRANSITIONS
                self.changes[request_id] += 1
                if action in ("approve", "cancel"):
                    self.decisions[request_id] += 1
        assert outcome.done == changed

    @invariant()
    def hold_fields_match_status(self):
        for request_id in self.request_ids:
            status, holder, *_ = self.snapshot(request_id)
            assert (status == ON_HOLD) == (holder is not None)

    @invariant()
    def one_email_per_approve_or_cancel(self):
        emails = Counter(
            dict(
                db.session.execute(
                    select(OutboundEmail.request_id, func.count()).group_by(
                        OutboundEmail.request_id
                    )
                ).all()
            )
        )
        assert emails == +self.decisions

    @invariant()
    def audit_trail_records_every_status_change(self):
        changed = Counter(
            dict(
                db.session.execute(
                    select(AuditEvent.request_id, func.count())
                    .where(AuditEvent.from_status != AuditEvent.to_status)
                    .group_by(AuditEvent.request_id)
                ).all()
            )
        )
        assert changed == +self.changes


def test_random_review_sessions_keep_every_invariant(app):
    app.config["MAIL_SERVER"] = None  # emails stay in the outbox, where they are counted
    run_state_machine_as_test(
        ReviewMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
