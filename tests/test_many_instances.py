"""Beyond one machine: two gunicorn instances and two RQ workers on one PostgreSQL, Redis and
S3 store. Customers and the agent use both instances as a load balancer would send them;
midway one instance and one worker are killed (SIGKILL). Every submission is stored once,
every email is sent once, every file is readable from the instance that did not receive it,
and sessions are valid on both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from extensions import db
from factories import make_order, make_reasons, make_shop, make_user
from harness import app_config, free_port
from instances import ROOT, app_env, post, start_gunicorn
from models import Attachment, ReturnRequest
from portal_helpers import jpeg_bytes
from service_processes import PrivatePostgres, redis_server, wait_until
from storage_backends import new_bucket, s3_endpoint

pytestmark = pytest.mark.services
CUSTOMERS = 6


class Balancer:
    """Sends each call to the next live instance in turn, as a load balancer does: a call to
    an instance that does not answer goes to the other one."""

    def __init__(self, bases: list[str]) -> None:
        self.bases, self.turn = bases, 0

    def __call__(self, call):
        self.turn += 1
        first = self.turn % len(self.bases)
        for base in self.bases[first:] + self.bases[:first]:
            try:
                return call(base)
            except requests.ConnectionError:
                continue
        raise AssertionError("no instance answered")


def submit_with_photo(balance: Balancer, shop, order, reason, photo: bytes) -> None:
    """The customer's steps, each to whichever instance the balancer picks."""
    customer = requests.Session()
    line = order.lines[0].id
    steps = [
        ("/", {"order_number": order.number, "email_or_postcode": order.customer_email}, None),
        ("/items", {f"line-{line}": "1", f"qty-{line}": "1"}, None),
        (
            "/details",
            {f"reason-{line}": str(reason.id), f"comment-{line}": "Torn seam"},
            {f"photos-{line}": ("seam.jpg", photo, "image/jpeg")},
        ),
        ("/resolution", {"resolution": "refund", "exchange_note": ""}, None),
    ]
    for step, data, files in steps:
        answer = balance(
            lambda base, step=step, data=data, files=files: post(
                customer, f"{base}/returns/{shop.slug}{step}", files=files, **data
            )
        )
        assert answer.status_code == 302, (step, answer.status_code, answer.text[-500:])

    def review(base: str) -> requests.Response:
        page = customer.get(f"{base}/returns/{shop.slug}/review", timeout=10)
        key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
        return post(customer, f"{base}/returns/{shop.slug}/review", submission_key=key)

    assert balance(review).status_code == 302


def approve(balance: Balancer, staff: requests.Session, request_id: int) -> None:
    def decide(base: str) -> requests.Response:
        page = staff.get(f"{base}/admin/requests/{request_id}", timeout=10)
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
        return post(
            staff,
            f"{base}/admin/requests/{request_id}/act",
            form_page=f"{base}/admin/requests/{request_id}",
            action="approve",
            version=version,
        )

    assert balance(decide).status_code == 302


def start_worker(app, smtp_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "rq", "worker"],
        cwd=ROOT,
        env=app_env(app, smtp_port),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the process and its children (an instance's gunicorn workers, a worker's
    scheduler and work horse): each was started in a session of its own."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def request_of(order) -> ReturnRequest:
    db.session.expire_all()
    return db.session.scalar(select(ReturnRequest).where(ReturnRequest.order_id == order.id))


def test_two_instances_and_two_workers_lose_nothing_when_one_of_each_dies(smtp_sink, tmp_path):
    postgres = PrivatePostgres().start()
    redis_port = free_port()
    processes: list[subprocess.Popen] = []
    smtp_sink.clear()  # the sink is the session's: no earlier test's email counts here
    try:
        with redis_server(redis_port), s3_endpoint() as endpoint:
            config = app_config(postgres.url, smtp_sink, tmp_path / "storage")
            config.update(
                REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                RQ_ASYNC=True,
                STORAGE_URL=f"s3://{new_bucket(endpoint)}/files",
            )
            app = create_app(config)
            with app.app_context():
                upgrade()
                shop = make_shop()
                reason = make_reasons(shop)["damaged"]
                make_user("agent@example.com", shop)
                orders = [make_order(shop, lines=1) for _ in range(CUSTOMERS)]
                db.session.commit()
                first, base_a = start_gunicorn(app, smtp_sink, tmp_path / "a.log")
                second, base_b = start_gunicorn(app, smtp_sink, tmp_path / "b.log")
                workers = [start_worker(app, smtp_sink.port) for _ in range(2)]
                processes += [first, second, *workers]
                balance = Balancer([base_a, base_b])
                staff = requests.Session()
                assert (
                    post(
                        staff, f"{base_a}/login", email="agent@example.com", password="secret-pw"
                    ).status_code
                    == 302
                )
                assert "/login" not in staff.get(f"{base_b}/admin/requests/", timeout=10).url
                photos = {order.id: jpeg_bytes() + order.number.encode() for order in orders}

                half = CUSTOMERS // 2
                for order in orders[:half]:
                    submit_with_photo(balance, shop, order, reason, photos[order.id])
                    approve(balance, staff, request_of(order).id)
                customers = [order.customer_email for order in orders]
                wait_until(
                    lambda: all(len(smtp_sink.to(c)) == 2 for c in customers[:half]), timeout=60
                )
                kill(second)
                kill(workers[0])
                for order in orders[half:]:
                    submit_with_photo(balance, shop, order, reason, photos[order.id])
                    approve(balance, staff, request_of(order).id)
                wait_until(lambda: all(len(smtp_sink.to(c)) >= 2 for c in customers), timeout=90)
                time.sleep(3)  # time enough for a second copy of any email to arrive

                ours = {*customers, "returns@demo.example.com"}
                assert Counter(m["To"] for m in smtp_sink.messages if m["To"] in ours) == Counter(
                    {customer: 2 for customer in customers}
                    | {"returns@demo.example.com": CUSTOMERS}
                )
                assert db.session.scalar(select(func.count()).select_from(ReturnRequest)) == 6
                for order in orders:
                    req = request_of(order)
                    [photo] = db.session.scalars(
                        select(Attachment).where(Attachment.request_id == req.id)
                    )
                    seen = staff.get(f"{base_a}/admin/requests/{req.id}/photo/{photo.id}")
                    assert seen.status_code == 200 and seen.content == photos[order.id]
    finally:
        for process in processes:
            kill(process)
        postgres.stop()
