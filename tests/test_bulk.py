"""Bulk actions: the founding document's "check all, set to concept, approve all concept"."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import notices, workflow
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import (
    APPROVED,
    CONCEPT,
    NEW,
    ON_HOLD,
    AuditEvent,
    BulkJob,
    Notice,
    OutboundEmail,
    ReturnRequest,
    ReviewStage,
    utcnow,
)
from services import bulk_jobs


def make_requests(shop, n, status=NEW):
    order = make_order(shop, lines=1)
    return [make_request(shop, status=status, order=order) for _ in range(n)]


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_bulk_concept_then_approve_all_concept(shop, anna, smtp_sink):
    requests = make_requests(shop, 5)
    db.session.commit()
    ids = [r.id for r in requests]
    outcome = workflow.bulk_apply("concept", ids, anna)
    db.session.commit()
    assert outcome.summary() == "5 set to concept"
    assert count(ReturnRequest, ReturnRequest.status == CONCEPT) == 5
    outcome = workflow.bulk_apply("approve", ids, anna)
    db.session.commit()
    assert outcome.summary() == "5 approved"
    assert count(ReturnRequest, ReturnRequest.status == APPROVED) == 5
    assert count(AuditEvent, AuditEvent.action == "approve") == 5
    assert len(smtp_sink.messages) == 5
    assert {m["X-Envelope-To"] for m in smtp_sink.messages} == {r.customer_email for r in requests}


def test_bulk_approve_skips_requests_held_by_a_colleague_and_says_so(shop, anna, smtp_sink):
    bram = make_user("bram@example.com", shop, name="Bram")
    requests = make_requests(shop, 4, status=CONCEPT)
    workflow.hold(requests[0], bram)
    workflow.hold(requests[1], anna)
    db.session.commit()
    outcome = workflow.bulk_apply("approve", [r.id for r in requests], anna)
    db.session.commit()
    assert outcome.summary() == "3 approved, 1 skipped: held by Bram"
    db.session.refresh(requests[0])
    assert requests[0].status == ON_HOLD
    assert len(smtp_sink.messages) == 3


def test_bulk_ignores_requests_of_other_shops(shop, anna):
    other = make_shop("fashion", "Mode Huis")
    theirs = make_requests(other, 2)
    db.session.commit()
    outcome = workflow.bulk_apply("approve", [r.id for r in theirs], anna)
    db.session.commit()
    assert outcome.done == 0
    assert count(ReturnRequest, ReturnRequest.status == NEW) == 2


def test_bulk_cancel_needs_a_reason(shop, anna):
    requests = make_requests(shop, 2)
    with pytest.raises(workflow.TransitionRefused):
        workflow.bulk_apply("cancel", [r.id for r in requests], anna, reason=" ")


def test_bulk_hold_and_release_restore_the_status_before(shop, anna):
    requests = make_requests(shop, 2, status=CONCEPT)
    ids = [r.id for r in requests]
    workflow.bulk_apply("hold", ids, anna)
    db.session.commit()
    assert (
        count(ReturnRequest, ReturnRequest.held_by_id == anna.id, ReturnRequest.status == ON_HOLD)
        == 2
    )
    workflow.bulk_apply("release", ids, anna)
    db.session.commit()
    assert (
        count(ReturnRequest, ReturnRequest.status == CONCEPT, ReturnRequest.held_by_id.is_(None))
        == 2
    )


def test_large_bulk_job_runs_in_chunks_and_resumes_after_a_dead_worker(
    shop, anna, smtp_sink, monkeypatch
):
    monkeypatch.setattr(workflow, "BULK_CHUNK", 40)
    requests = make_requests(shop, 100, status=CONCEPT)
    job = BulkJob(actor=anna, action="approve", request_ids=[r.id for r in requests], total=100)
    db.session.add(job)
    db.session.commit()
    # A worker processed the first chunk, committed it with its progress, then died.
    part = workflow.bulk_apply_chunk("approve", job.request_ids[:40], anna)
    job.outcome = {"done": part.done, "skipped": {}}
    job.done, job.status = 40, "running"
    db.session.commit()
    job.updated_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert bulk_jobs.sweep_bulk_jobs() == 1
    db.session.refresh(job)
    assert (job.status, job.done, job.outcome["done"]) == ("done", 100, 100)
    assert count(ReturnRequest, ReturnRequest.status == APPROVED) == 100
    assert count(OutboundEmail) == 100
    assert len(smtp_sink.messages) == 100
    assert count(AuditEvent, AuditEvent.action == "approve") == 100


def test_bulk_move_to_review_stage_only_within_the_stages_shop(shop, anna):
    stage = ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos requested")
    db.session.add(stage)
    requests = make_requests(shop, 3)
    workflow.approve(requests[2], anna)
    db.session.commit()
    outcome = workflow.bulk_apply("stage", [r.id for r in requests], anna, stage=stage)
    db.session.commit()
    assert outcome.summary() == "2 moved to the review stage, 1 skipped: already approved"
    assert count(ReturnRequest, ReturnRequest.stage_id == stage.id) == 2


def test_bulk_free_shipping_runs_the_notice_rules_again(shop, anna):
    notices.seed_default_rules(shop)
    requests = make_requests(shop, 2)
    for request in requests:
        request.resolution = "exchange"
    db.session.commit()
    workflow.bulk_apply("free_shipping_on", [r.id for r in requests], anna)
    db.session.commit()
    assert count(Notice) == 2
    workflow.bulk_apply("free_shipping_off", [r.id for r in requests], anna)
    db.session.commit()
    assert count(Notice) == 0
