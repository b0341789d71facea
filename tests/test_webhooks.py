"""Webhooks: outbox rows posted after commit to a real local receiver, signed, retried."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import webhook_events, workflow
from extensions import db
from factories import make_shop, make_user
from models import WebhookDelivery, WebhookEndpoint, utcnow
from services import jobs, outbox, webhooks
from webhook_helpers import Receiver, add_endpoint, serve


@pytest.fixture
def loopback_receiver():
    """A receiver on loopback, with the app's default (private targets refused)."""
    yield from serve(Receiver())


@pytest.fixture
def second_receiver():
    """Another receiver on loopback (the ``receiver`` fixture is the first)."""
    yield from serve(Receiver())


def run_jobs(app) -> None:
    """With Redis the deliveries wait in RQ: work the queue empty, as a worker would."""
    if not app.config.get("REDIS_URL"):
        return
    from rq import SimpleWorker

    SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)


def delivery() -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalar(select(WebhookDelivery))


def test_event_is_posted_after_commit_with_a_valid_signature(app, receiver):
    shop = make_shop()
    endpoint = add_endpoint(shop, receiver.url)
    db.session.commit()

    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-2026-00001"})
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
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.rollback()
    run_jobs(app)
    assert receiver.calls == []
    assert delivery() is None


def test_only_active_endpoints_subscribed_to_the_event_receive_it(app, receiver):
    shop = make_shop()
    other_shop = make_shop("other", "Other")
    add_endpoint(shop, receiver.url + "/subscribed", events=webhook_events.EVENTS)
    add_endpoint(shop, receiver.url + "/other-event", events=[webhook_events.RETURN_CREATED])
    add_endpoint(shop, receiver.url + "/inactive", active=False)
    add_endpoint(other_shop, receiver.url + "/other-shop")
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)
    assert len(receiver.calls) == 1


def test_unknown_event_is_refused():
    with pytest.raises(ValueError):
        webhook_events.emit(None, "request.exploded", {})


def test_delivery_answered_with_500_is_retried_after_backoff(app, receiver):
    receiver.statuses = [500, 200]
    shop = make_shop()
    add_endpoint(shop, receiver.url)
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    failed = delivery()
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert outbox.due_for_retry(model=WebhookDelivery) == []

    later = utcnow() + timedelta(seconds=jobs.RETRY_INTERVALS[0] + 1)
    assert outbox.sweep_outbox(now=later) == 1
    run_jobs(app)

    done = delivery()
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 2, 200)
    assert len(receiver.calls) == 2
    assert receiver.calls[0][1] == receiver.calls[1][1]


def test_unreachable_endpoint_keeps_the_delivery_pending_with_the_error(app):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    shop = make_shop()
    add_endpoint(shop, "http://127.0.0.1:9/closed")
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
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
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
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
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    endpoint.active = False
    db.session.commit()
    run_jobs(app)
    assert receiver.calls == []
    assert delivery().status == "skipped"


def test_bulk_approval_sends_one_status_change_per_approved_request(app, receiver):
    from factories import make_order, make_request

    shop = make_shop()
    anna = make_user("anna@example.com", shop, name="Anna")
    add_endpoint(shop, receiver.url, events=(webhook_events.REQUEST_STATUS_CHANGED,))
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


PRIVATE_TARGETS = [
    "http://127.0.0.1/hooks",
    "http://localhost:6379/",
    "http://[::1]/hooks",
    "http://10.0.0.1/hooks",
    "http://192.168.1.10/hooks",
    "http://172.16.0.1/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.64.0.1/hooks",
    "http://0.0.0.0:8000/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://2130706433/hooks",
    "http://127.1:5000/hooks",
    "https://224.0.0.1/hooks",
]


def post_new_endpoint(client, shop, url: str):
    return client.post(
        "/admin/webhooks/new/",
        data={"shop": shop.id, "url": url, "events": ["request.created"], "active": "y"},
    )


@pytest.fixture
def shop_admin(shop, auth):
    """The ``shop``, with its admin logged in."""
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    return shop


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_admin_cannot_save_an_endpoint_that_points_into_a_private_network(client, shop_admin, url):
    response = post_new_endpoint(client, shop_admin, url)
    assert response.status_code == 200
    assert db.session.scalar(select(WebhookEndpoint)) is None
    assert "private network" in response.text


def test_refusal_at_save_says_why_in_the_users_language(client, shop_admin):
    response = post_new_endpoint(client, shop_admin, "http://10.0.0.1/hooks")
    assert "leads into a private network or to this server itself" in response.text
    client.post("/language", data={"lang": "nl", "next": "/admin/"})
    response = post_new_endpoint(client, shop_admin, "http://10.0.0.1/hooks")
    assert "privénetwerk" in response.text


def test_admin_cannot_point_an_existing_endpoint_at_a_private_address(client, shop_admin):
    endpoint = add_endpoint(shop_admin, "https://shop.example.com/hooks")
    db.session.commit()
    response = client.post(
        f"/admin/webhooks/edit/?id={endpoint.id}",
        data={
            "shop": shop_admin.id,
            "url": "http://169.254.169.254/latest/meta-data/",
            "events": ["request.created"],
            "active": "y",
        },
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert endpoint.url == "https://shop.example.com/hooks"


def test_metadata_address_is_refused_even_where_private_targets_are_allowed(
    app, client, shop_admin
):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    response = post_new_endpoint(client, shop_admin, "http://169.254.169.254/latest/meta-data/")
    assert "metadata" in response.text or "private network" in response.text
    assert db.session.scalar(select(WebhookEndpoint)) is None
    assert post_new_endpoint(client, shop_admin, "http://127.0.0.1:8000/hooks").status_code == 302


def test_public_endpoint_whose_name_cannot_be_resolved_yet_is_saved(client, shop_admin):
    response = post_new_endpoint(client, shop_admin, "https://hooks.shop.invalid/returndesk")
    assert response.status_code == 302
    assert db.session.scalar(select(WebhookEndpoint)).url == "https://hooks.shop.invalid/returndesk"


def test_delivery_to_a_saved_private_url_is_refused_without_a_request(app, loopback_receiver):
    shop = make_shop()
    add_endpoint(shop, loopback_receiver.url)
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)
    assert loopback_receiver.calls == []
    row = delivery()
    assert row.status == "failed"
    assert "127.0.0.1 is not a public address" in row.last_error


def test_name_that_turns_private_after_saving_is_refused_at_delivery(
    app, client, shop_admin, loopback_receiver, monkeypatch
):
    """DNS rebinding: the name resolved to a public address when the admin saved it and
    to loopback, where Redis or the app itself listen, when the event is delivered."""
    answers = {"hooks.shop.example": "93.184.216.34"}
    real_getaddrinfo = socket.getaddrinfo

    def shop_dns(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", shop_dns)
    url = f"http://hooks.shop.example:{loopback_receiver.port}/hooks"
    assert post_new_endpoint(client, shop_admin, url).status_code == 302

    answers["hooks.shop.example"] = "127.0.0.1"
    webhook_events.emit(shop_admin, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    assert loopback_receiver.calls == []
    row = delivery()
    assert row.status == "failed"
    assert "resolves to 127.0.0.1, which is not a public address" in row.last_error


def test_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    app, receiver, monkeypatch
):
    """Between the check and the connection the name is not looked up again, so a second,
    different answer cannot redirect the request."""
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def changing_dns(host, port, *args, **kwargs):
        if host != "hooks.shop.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", changing_dns)
    shop = make_shop()
    add_endpoint(shop, f"http://hooks.shop.example:{receiver.port}/hooks")
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    assert lookups == ["hooks.shop.example"]
    [(headers, _body)] = receiver.calls
    assert headers["Host"] == f"hooks.shop.example:{receiver.port}"
    assert delivery().status == "delivered"


def test_redirect_is_not_followed_and_fails_the_delivery(app, receiver, second_receiver):
    receiver.statuses = [302]
    receiver.location = f"http://127.0.0.1:{second_receiver.port}/internal"
    shop = make_shop()
    add_endpoint(shop, receiver.url)
    db.session.commit()
    webhook_events.emit(shop, webhook_events.REQUEST_CREATED, {"number": "R-1"})
    db.session.commit()
    run_jobs(app)

    assert len(receiver.calls) == 1
    assert second_receiver.calls == []
    row = delivery()
    assert (row.status, row.last_status_code) == ("failed", 302)
    assert "redirect" in row.last_error and "not followed" in row.last_error
