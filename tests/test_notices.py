"""Notice rules: each condition, evaluation that keeps notices in step, dry runs, acts."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import make_shop, make_user
from domain import notices, workflow
from extensions import db
from factories import make_order, make_reason, make_request
from models import (
    APPROVED,
    CONCEPT,
    NEW,
    Attachment,
    AuditEvent,
    Notice,
    NoticeRule,
    OutboundEmail,
    ReviewStage,
    utcnow,
)


@pytest.fixture
def shop(app):
    return make_shop()


def make_rule(shop, conditions, name="Rule", severity="info", action=None, **fields):
    rule = NoticeRule(
        shop_id=shop.id if shop else None,
        name=name,
        conditions=conditions,
        severity=severity,
        action=action,
        message_nl=fields.pop("message_nl", f"NL: {name}"),
        message_en=fields.pop("message_en", f"EN: {name}"),
        **fields,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def holds(kind, request, **params):
    return notices.CONDITIONS[kind].check(request, {"kind": kind, **params})


def add_photo(shop, line):
    db.session.add(
        Attachment(
            shop_id=shop.id,
            request_id=line.request_id,
            request_line_id=line.id,
            original_name="kapot.jpg",
            content_type="image/jpeg",
            size=10,
            sha256="0" * 64,
            storage_key=f"photo-{line.id}",
        )
    )
    db.session.flush()
    db.session.refresh(line)


def test_free_exchange_holds_only_for_an_exchange_that_ships_free(shop):
    request = make_request(shop, resolution="exchange", free_shipping=True)
    assert holds("free_exchange", request)
    request.free_shipping = False
    assert not holds("free_exchange", request)
    request.resolution, request.free_shipping = "refund", True
    assert not holds("free_exchange", request)


def test_order_value_above_compares_the_whole_order_in_cents(shop):
    request = make_request(shop)  # 2 × €49,95 + 2 × €59,95 = €219,80
    assert request.order.total_cents == 21980
    assert holds("order_value_above", request, amount=20000)
    assert not holds("order_value_above", request, amount=21980)
    assert not holds("order_value_above", request, amount=25000)


def test_after_return_window_counts_days_late_from_delivery_plus_window(shop):
    shop.return_window_days = 30
    late = make_request(shop, order=make_order(shop, delivered_days_ago=40))
    assert holds("after_return_window", late, days=0)
    assert holds("after_return_window", late, days=9)
    assert not holds("after_return_window", late, days=11)
    in_time = make_request(shop, order=make_order(shop, delivered_days_ago=3))
    assert not holds("after_return_window", in_time, days=0)
    undelivered = make_request(shop, order=make_order(shop, delivered_days_ago=None))
    assert not holds("after_return_window", undelivered, days=0)


def test_customer_repeat_counts_recent_requests_of_the_same_email_in_the_shop(shop):
    other_shop = make_shop("fashion", "Fashion")
    email = "Eva@Example.nl"
    old = make_request(shop, order=make_order(shop, customer_email=email.lower()))
    old.created_at = utcnow() - timedelta(days=60)
    make_request(shop, order=make_order(shop, customer_email=email.lower()))
    make_request(other_shop, order=make_order(other_shop, customer_email=email))
    latest = make_request(shop, order=make_order(shop, customer_email=email))
    db.session.flush()
    assert holds("customer_repeat", latest, count=2, days=30)
    assert not holds("customer_repeat", latest, count=3, days=30)
    assert holds("customer_repeat", latest, count=3, days=90)


def test_reason_in_matches_any_line_with_a_chosen_reason_code(shop):
    request = make_request(shop)
    request.lines[0].reason = make_reason(shop, "damaged", label_en="Damaged")
    assert holds("reason_in", request, codes=["damaged", "wrong_item"])
    assert not holds("reason_in", request, codes=["too_small"])


def test_more_items_than_adds_up_line_quantities(shop):
    request = make_request(shop)
    request.lines[0].quantity = 2
    assert holds("more_items_than", request, count=2)
    assert not holds("more_items_than", request, count=3)


def test_comment_contains_any_word_ignoring_case(shop):
    request = make_request(shop)
    request.lines[1].comment = "De rits is KAPOT gegaan"
    assert holds("comment_contains", request, words=["vies", "kapot"])
    assert not holds("comment_contains", request, words=["vies", "gat"])


def test_photo_missing_only_where_the_reason_asks_for_one(shop):
    request = make_request(shop)
    needs_photo = make_reason(shop, "damaged", requires_photo=True)
    no_photo_needed = make_reason(shop, "too_small")
    request.lines[0].reason = no_photo_needed
    assert not holds("photo_missing", request)
    request.lines[1].reason = needs_photo
    assert holds("photo_missing", request)
    add_photo(shop, request.lines[1])
    assert not holds("photo_missing", request)


def test_rule_needs_all_its_conditions(shop):
    request = make_request(shop, resolution="exchange", free_shipping=True)
    rule = make_rule(
        shop, [{"kind": "free_exchange"}, {"kind": "order_value_above", "amount": 50000}]
    )
    assert notices.evaluate(request) == [(rule, False)]
    rule.conditions = [{"kind": "free_exchange"}, {"kind": "order_value_above", "amount": 100}]
    assert notices.evaluate(request) == [(rule, True)]


def test_rule_without_conditions_flags_nothing(shop):
    request = make_request(shop)
    rule = make_rule(shop, [])
    assert notices.evaluate(request) == [(rule, False)]


def test_seeded_free_exchange_rule_puts_an_info_notice_on_submit(shop):
    rule = notices.seed_default_rules(shop)
    assert notices.seed_default_rules(shop) is rule
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    [notice] = request.notices
    assert notice.rule == rule and notice.severity == "info"
    assert "gratis ruilen" in notice.text("nl")
    assert request.notice_count == 1


def test_reevaluating_does_not_duplicate_notices(shop):
    notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    workflow.run_notice_rules(request, "changed")
    workflow.run_notice_rules(request, "changed")
    db.session.commit()
    count = db.session.scalar(select(func.count(Notice.id)).where(Notice.request_id == request.id))
    assert count == 1
    assert request.notice_count == 1


def test_notice_goes_away_when_its_rule_no_longer_matches_but_manual_notice_stays(shop):
    support = make_user("support@returndesk.test", is_support=True)
    notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    notices.add_manual_notice(request, support, "warning", "Bel eerst", "Call first")
    assert request.notice_count == 2
    request.resolution = "refund"
    workflow.run_notice_rules(request, "changed")
    db.session.commit()
    assert [n.text_en for n in request.notices] == ["Call first"]
    assert request.notice_count == 1


def test_switching_a_rule_off_clears_its_notices(shop):
    rule = notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    rule.active = False
    workflow.run_notice_rules(request, "changed")
    assert request.notices == [] and request.notice_count == 0


def test_global_rule_applies_to_every_shop(shop):
    fashion = make_shop("fashion", "Fashion")
    make_rule(None, [{"kind": "more_items_than", "count": 1}], name="Many items")
    for each in (shop, fashion):
        request = make_request(each)
        workflow.run_notice_rules(request, "submitted")
        assert [n.text_en for n in request.notices] == ["EN: Many items"]


def test_dry_run_lists_matching_recent_requests_and_writes_nothing(shop):
    cheap = make_request(shop, order=make_order(shop, lines=1))
    dear = make_request(shop, order=make_order(shop, lines=3))
    other_shop = make_shop("fashion", "Fashion")
    make_request(other_shop, order=make_order(other_shop, lines=3))
    db.session.commit()
    rule = NoticeRule(
        shop_id=shop.id,
        name="Dear",
        conditions=[{"kind": "order_value_above", "amount": 20000}],
        action="approve",
        message_nl="Duur",
        message_en="Dear",
    )
    before = [db.session.scalar(select(func.count(m.id))) for m in (Notice, AuditEvent, NoticeRule)]

    hits = notices.dry_run(rule, shop)

    assert [hit.request for hit in hits] == [dear]
    assert hits[0].action == "approve"
    assert cheap.status == NEW and dear.status == NEW
    assert not db.session.new and not db.session.dirty
    db.session.rollback()
    after = [db.session.scalar(select(func.count(m.id))) for m in (Notice, AuditEvent, NoticeRule)]
    assert after == before


def test_dry_run_looks_at_the_last_hundred_requests_only(shop):
    first = make_request(shop)
    first.created_at = utcnow() - timedelta(days=5)
    for _ in range(3):
        make_request(shop)
    rule = NoticeRule(shop_id=shop.id, conditions=[{"kind": "more_items_than", "count": 0}])
    hits = notices.dry_run(rule, shop, limit=3)
    assert len(hits) == 3 and first not in [hit.request for hit in hits]


def test_rule_approves_automatically_and_says_so(shop, smtp_sink):
    make_rule(
        shop,
        [{"kind": "more_items_than", "count": 0}],
        name="Under €20, refund",
        action="approve",
    )
    request = make_request(shop)
    workflow.run_notice_rules(request, "submitted")
    db.session.commit()
    assert request.status == APPROVED
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "approve"))
    assert event.actor_id is None and event.actor_label == "rule 'Under €20, refund'"
    assert len(smtp_sink.to(request.customer_email)) == 1


def test_no_automatic_approval_while_a_warning_stands(shop):
    make_rule(shop, [{"kind": "more_items_than", "count": 0}], name="Auto", action="approve")
    make_rule(shop, [{"kind": "order_value_above", "amount": 100}], severity="warning")
    request = make_request(shop)
    workflow.run_notice_rules(request, "submitted")
    db.session.commit()
    assert request.status == NEW
    assert db.session.scalar(select(OutboundEmail)) is None


def test_rule_turns_free_shipping_on_and_the_free_exchange_notice_follows(shop):
    make_rule(
        shop,
        [{"kind": "reason_in", "codes": ["damaged"]}],
        name="Damaged ships free",
        action="free_shipping_on",
    )
    notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange")
    request.lines[0].reason = make_reason(shop, "damaged")
    workflow.run_notice_rules(request, "submitted")
    db.session.commit()
    assert request.free_shipping is True
    assert sorted(n.rule.name for n in request.notices) == [
        "Customer chose a free exchange",
        "Damaged ships free",
    ]
    assert request.notice_count == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "free_shipping_on"))
    assert event.actor_label == "rule 'Damaged ships free'"


def test_reevaluating_does_not_undo_what_an_agent_changed_since(shop):
    agent = make_user("agent@example.com", shop)
    make_rule(shop, [{"kind": "more_items_than", "count": 0}], action="free_shipping_on")
    request = make_request(shop)
    workflow.run_notice_rules(request, "submitted")
    workflow.set_free_shipping(request, agent, False)
    workflow.run_notice_rules(request, "changed")
    db.session.commit()
    assert request.free_shipping is False


def test_rule_moves_request_to_concept_or_a_review_stage(shop):
    stage = ReviewStage(shop_id=shop.id, name_nl="Foto's gevraagd", name_en="Photos requested")
    db.session.add(stage)
    db.session.flush()
    make_rule(shop, [{"kind": "comment_contains", "words": ["kapot"]}], action="move_to_concept")
    make_rule(
        shop,
        [{"kind": "comment_contains", "words": ["kapot"]}],
        action="move_to_stage",
        action_stage_id=stage.id,
    )
    request = make_request(shop)
    request.lines[0].comment = "kapot"
    workflow.run_notice_rules(request, "submitted")
    db.session.commit()
    assert request.status == CONCEPT
    assert request.stage_id == stage.id


def test_rule_does_not_act_on_a_request_someone_holds(shop):
    agent = make_user("agent@example.com", shop)
    request = make_request(shop)
    workflow.hold(request, agent)
    make_rule(shop, [{"kind": "more_items_than", "count": 0}], action="approve")
    workflow.run_notice_rules(request, "changed")
    db.session.commit()
    assert request.status == "on_hold"
    assert request.notice_count == 1


def test_agent_switching_free_shipping_on_raises_the_free_exchange_notice(shop):
    agent = make_user("agent@example.com", shop)
    notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange")
    workflow.run_notice_rules(request, "submitted")
    assert request.notices == []
    workflow.set_free_shipping(request, agent, True)
    db.session.commit()
    assert [n.rule.name for n in request.notices] == [notices.FREE_EXCHANGE_RULE]
    workflow.set_free_shipping(request, agent, False)
    db.session.commit()
    assert request.notices == [] and request.notice_count == 0
