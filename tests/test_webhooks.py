"""Webhooks: outbox rows posted after commit to a real local receiver, signed, retried."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

import tasks
import webhooks
import workflow
from conftest import make_shop, make_user
from extensions import db
from models import WebhookDelivery, WebhookEndpoint, utcnow


class Receiver:
    """A webshop's webhook URL: records every POST and answers with the next planned status."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.calls.append((self.headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def receiver():
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield receiver
    server.shutdown()
    thread.join(timeout=5)


def run_jobs(app) -> None:
    """With Redis the deliveries wait in RQ: work the queue empty, as a worker would."""
    if not app.config.get("REDIS_URL"):
        return
    from rq import SimpleWorker

    SimpleWorker([tasks.queue()], connection=tasks.redis_connection()).work(burst=True)


def add_endpoint(shop, url: str, events=(webhooks.REQUEST_CREATED,), active=True):
    endpoint = WebhookEndpoint(shop=shop, url=url, events=list(events), active=active)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def delivery() -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalar(select(WebhookDelivery))


def test_event_is_posted_after_commit_with_a_valid_signature(app, receiver):
    shop = make_shop()
    endpoint = add_endpoint(shop, receiver.url)
    db.session.commit()

    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-2026-00001"})
    assert receiver.calls == []
    db.session.commit()
    run_jobs(app)

    [(headers, body)] = receiver.calls
    assert webhooks.verify(
        endpoint.secret,
        headers[webhooks.TIMESTAMP_HEADER],
        body,
        headers[webhooks.SIGNATURE_HEADER],
    )
    assert not webhooks.verify(
        "another-secret",
        headers[webhooks.TIMESTAMP_HEADER],
        body,
        headers[webhooks.SIGNATURE_HEADER],
    )
    sent = json.loads(body)
    assert sent["event"] == "request.created"
    assert sent["shop"] == shop.slug
    assert sent["data"] == {"number": "R-2026-00001"}
    assert headers[webhooks.EVENT_HEADER] == "request.created"
    assert (delivery().status, delivery().last_status_code) == ("delivered", 200)


def test_rolled_back_event_is_never_sent(app, receiver):
    shop = make_shop()
    add_endpoint(shop, receiver.url)
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    db.session.rollback()
    run_jobs(app)
    assert receiver.calls == []
    assert delivery() is None


def test_only_active_endpoints_subscribed_to_the_event_receive_it(app, receiver):
    shop = make_shop()
    other_shop = make_shop("other", "Other")
    add_endpoint(shop, receiver.url + "/subscribed", events=webhooks.EVENTS)
    add_endpoint(shop, receiver.url + "/other-event", events=[webhooks.RETURN_CREATED])
    add_endpoint(shop, receiver.url + "/inactive", active=False)
    add_endpoint(other_shop, receiver.url + "/other-shop")
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)
    assert len(receiver.calls) == 1


def test_unknown_event_is_refused():
    with pytest.raises(ValueError):
        webhooks.emit(None, "request.exploded", {})


def test_delivery_answered_with_500_is_retried_after_backoff(app, receiver):
    receiver.statuses = [500, 200]
    shop = make_shop()
    add_endpoint(shop, receiver.url)
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    failed = delivery()
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert tasks.due_for_retry(model=WebhookDelivery) == []

    later = utcnow() + timedelta(seconds=tasks.RETRY_INTERVALS[0] + 1)
    assert tasks.sweep_outbox(now=later) == 1
    run_jobs(app)

    done = delivery()
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 2, 200)
    assert len(receiver.calls) == 2
    assert receiver.calls[0][1] == receiver.calls[1][1]


def test_unreachable_endpoint_keeps_the_delivery_pending_with_the_error(app):
    shop = make_shop()
    add_endpoint(shop, "http://127.0.0.1:9/closed")
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)
    row = delivery()
    assert row.status == "pending"
    assert row.last_status_code is None
    assert "Connection refused" in row.last_error or "URLError" in row.last_error


def test_admin_sees_deliveries_with_response_codes_of_own_shop_only(app, client, auth, receiver):
    receiver.statuses = [503]
    shop = make_shop("a", "Shop A")
    other = make_shop("b", "Shop B")
    add_endpoint(shop, receiver.url + "/mine")
    add_endpoint(other, receiver.url + "/theirs")
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    auth.login("admin@example.com")
    html = client.get("/admin/webhook_deliveries/").get_data(as_text=True)
    assert "/hooks/mine" in html
    assert "503" in html
    endpoints = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "/hooks/mine" in endpoints
    assert "/hooks/theirs" not in endpoints


def test_admin_adds_an_endpoint_with_chosen_events(app, client, auth):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    response = client.post(
        "/admin/webhooks/new/",
        data={
            "shop": shop.id,
            "url": "https://shop.example.com/returndesk",
            "events": ["request.created", "return.created"],
            "active": "y",
        },
    )
    assert response.status_code == 302
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.events == ["request.created", "return.created"]
    assert len(endpoint.secret) >= 32
    assert endpoint.secret in client.get(f"/admin/webhooks/details/?id={endpoint.id}").text
    assert client.get(f"/admin/webhooks/edit/?id={endpoint.id}").status_code == 200


def test_endpoint_switched_off_before_delivery_gets_nothing(app, receiver):
    shop = make_shop()
    endpoint = add_endpoint(shop, receiver.url)
    db.session.commit()
    webhooks.emit(shop, webhooks.REQUEST_CREATED, {"number": "R-1"})
    endpoint.active = False
    db.session.commit()
    run_jobs(app)
    assert receiver.calls == []
    assert delivery().status == "skipped"


def test_bulk_approval_sends_one_status_change_per_approved_request(app, receiver):
    from factories import make_order, make_request

    shop = make_shop()
    anna = make_user("anna@example.com", shop, name="Anna")
    add_endpoint(shop, receiver.url, events=(webhooks.REQUEST_STATUS_CHANGED,))
    order = make_order(shop, lines=1)
    fresh, concept, done = (
        make_request(shop, status=status, order=order) for status in ("new", "concept", "approved")
    )
    db.session.commit()

    outcome = workflow.bulk_apply("approve", [fresh.id, concept.id, done.id], anna)
    db.session.commit()
    run_jobs(app)

    assert outcome.done == 2
    sent = sorted(
        (data["number"], data["previous_status"], data["status"])
        for data in (json.loads(body)["data"] for _, body in receiver.calls)
    )
    assert sent == [(fresh.number, "new", "approved"), (concept.number, "concept", "approved")]
