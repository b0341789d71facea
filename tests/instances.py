"""ReturnDesk as real processes for the tests that need them: gunicorn instances and the
environment they (and workers and sweepers) share with the test's app, and a browser's form
posts over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from harness import free_port
from service_processes import wait_until

ROOT = Path(__file__).resolve().parent.parent


def app_env(app, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment of a ReturnDesk process (worker, gunicorn, sweeper) that uses the same
    database, Redis, queue, storage and SMTP server as the test's ``app``."""
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        RQ_QUEUE=app.config["RQ_QUEUE"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        STORAGE_DIR=app.config["STORAGE_DIR"],
        STORAGE_URL=app.config.get("STORAGE_URL", ""),
        SECRET_KEY="test-secret",
        PUBLIC_URL=app.config["PUBLIC_URL"],
        PYTHONPATH=str(ROOT),
        **extra,
    )
    env.pop("REDIS_URL", None)
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return env


@contextmanager
def gunicorn(app, smtp_sink, log: Path, **env: str) -> Iterator[str]:
    """ReturnDesk under a real gunicorn (one worker, so the in-memory limits of an outage are
    one count) on a free loopback port, with the test app's services; yields its base URL."""
    server, base = start_gunicorn(app, smtp_sink, log, **env)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def start_gunicorn(app, smtp_sink, log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """A gunicorn instance as ``gunicorn`` starts it, answering; its process and base URL."""
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "1",
                "--no-control-socket",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=app_env(app, smtp_sink.port, **env),
            start_new_session=True,  # its own process group: a test may SIGKILL it whole
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base + "/login"), timeout=30, interval=0.2)
    except TimeoutError:
        server.kill()
        raise
    return server, base


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def csrf_token_of(page: requests.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def post(
    browser: requests.Session, target: str, form_page: str = "", files=None, **data
) -> requests.Response:
    """A form post as a browser sends it: with the CSRF token of the form's page (``target``
    unless ``form_page`` says otherwise), not following the redirect. ``files`` as requests
    takes them (``{"field": ("name.jpg", bytes)}``) makes it a multipart upload."""
    token = csrf_token_of(browser.get(form_page or target, timeout=10))
    return browser.post(
        target,
        data={**data, "csrf_token": token},
        files=files,
        allow_redirects=False,
        timeout=10,
    )


def submit_over_http(base: str, shop, order, reason) -> requests.Response:
    """A customer's whole way through the portal: lookup, items, reason, resolution, submit."""
    portal = f"{base}/returns/{shop.slug}"
    customer = requests.Session()
    line = order.lines[0].id
    steps = [
        ("/", {"order_number": order.number, "email_or_postcode": order.customer_email}),
        ("/items", {f"line-{line}": "1", f"qty-{line}": "1"}),
        ("/details", {f"reason-{line}": str(reason.id), f"comment-{line}": ""}),
        ("/resolution", {"resolution": "refund", "exchange_note": ""}),
    ]
    for step, data in steps:
        answer = post(customer, portal + step, **data)
        assert answer.status_code == 302, (step, answer.status_code, answer.text[-500:])
    review = customer.get(portal + "/review", timeout=10)
    key = re.search(r'name="submission_key" value="([^"]+)"', review.text).group(1)
    return post(customer, portal + "/review", submission_key=key)
