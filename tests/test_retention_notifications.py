"""The retention job deletes bell entries 90 days after they were written, read or not (the
request's history keeps what they said), and support's dashboard says how many; a run that
stopped half-way is shown as stopped, not as running for ever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from domain import audit
from extensions import db
from factories import make_request
from harness import visible
from models import AuditEvent, Notification, RetentionRun, utcnow
from services import retention, schedule


def failed_email_told_to_support(shop, days_ago: float, read: bool = False) -> Notification:
    """An "email could not be sent" event on a new request, on support's bell ``days_ago``."""
    event = audit.record(make_request(shop), None, "email_failed", note="approved")
    db.session.commit()
    [told] = db.session.scalars(select(Notification).where(Notification.audit_event_id == event.id))
    written = utcnow() - timedelta(days=days_ago)
    db.session.execute(
        update(Notification)
        .where(Notification.id == told.id)
        .values(created_at=written, read_at=written if read else None)
    )
    db.session.commit()
    return told


def test_entries_past_90_days_go_read_or_not_and_support_reads_how_many(client, auth, shop_staff):
    old_events = {
        failed_email_told_to_support(shop_staff.shop, 91).audit_event_id,
        failed_email_told_to_support(shop_staff.shop, 120, read=True).audit_event_id,
    }
    recent = failed_email_told_to_support(shop_staff.shop, 89).id

    done = retention.run()

    left = db.session.scalars(select(Notification.id)).all()
    assert left == [recent]
    assert done.notifications_deleted == 2
    kept = set(db.session.scalars(select(AuditEvent.id)))
    assert old_events <= kept, "the history keeps what they said"
    auth.login("support@example.com")
    text = visible(client.get("/admin/").get_data(as_text=True))
    assert "Last run" in text and "notifications deleted: 2." in text

    assert retention.run().notifications_deleted == 0


def test_a_run_that_stopped_half_way_reads_as_stopped(client, auth, shop_staff):
    started = utcnow() - retention.TIME_LIMIT - timedelta(minutes=5)
    db.session.add(
        RetentionRun(
            started_at=started,
            files_deleted=4,
            requests_anonymised=1,
            bodies_trimmed=0,
            notifications_deleted=0,
        )
    )
    db.session.commit()
    auth.login("support@example.com")

    text = visible(client.get("/admin/").get_data(as_text=True))

    assert "Stopped before it finished" in text and "the next run carries on" in text
    assert "Running since" not in text
    assert "Requests anonymised: 1; files deleted: 4;" in text


def test_support_reads_a_stopped_run_in_dutch(client, auth, shop_staff):
    shop_staff.support.language = "nl"
    db.session.add(RetentionRun(started_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    auth.login("support@example.com")

    text = visible(client.get("/admin/").get_data(as_text=True))

    assert "Gestopt voordat de taak klaar was" in text
    assert "notificaties verwijderd: 0." in text


def test_the_workers_give_a_run_as_long_as_the_dashboard_waits_for_it(app):
    [daily] = [each for each in schedule.schedules() if each.name == "retention"]
    assert daily.time_limit == retention.TIME_LIMIT.total_seconds()
