"""Test fixtures: the app on a migrated database, a real SMTP sink, Redis when configured.

By default tests run on a SQLite file with in-process jobs. With ``DATABASE_URL`` (a
PostgreSQL server) a fresh database is created for the run; with ``REDIS_URL`` jobs go
through RQ. ``REQUIRE_SERVICES=1`` (set by .ci/run) turns "service missing" skips into
failures, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from extensions import db, limiter
from models import Membership, Shop, User

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def need_service(name: str, available: bool) -> None:
    """Skip a test that needs a missing service, or fail when CI requires every service."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"{name} not configured")


class SmtpSink:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self._lock = threading.Lock()
        self.fail_with: str | None = None
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_with:
            return self.fail_with
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if address in m["X-Envelope-To"]]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
        self.fail_with = None
        self.refused = set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, enable_SMTPUTF8=True)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    """A fresh, migrated database for this test run."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"returndesk_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated(database_uri, smtp_sink, tmp_path_factory):
    """Apply the Alembic migrations once; every test then starts from empty tables."""
    from flask_migrate import upgrade

    app = create_app(test_config(database_uri, smtp_sink, tmp_path_factory.mktemp("storage")))
    with app.app_context():
        upgrade()
    return database_uri


def test_config(database_uri: str, smtp_sink: SmtpSink, storage: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "MAIL_DEFAULT_SENDER": "ReturnDesk <no-reply@returndesk.test>",
        "STORAGE_DIR": str(storage),
        "PUBLIC_URL": "http://returndesk.test",
        "RQ_QUEUE": f"returndesk-test-{uuid.uuid4().hex[:8]}",
        # With REDIS_URL, jobs go through Redis and run at once; test_outbox.py runs a real
        # worker against an asynchronous queue.
        "RQ_ASYNC": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture
def app(migrated, smtp_sink, tmp_path):
    app = create_app(test_config(migrated, smtp_sink, tmp_path / "storage"))
    smtp_sink.clear()
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def empty_all_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The ``app`` fixture keeps an app context open for the test's own queries; without
    this, requests would share its ``g`` (the logged-in user, the locale) and its session.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


def client_at(app, address: str) -> FlaskClient:
    """A browser of its own at client address ``address`` (another customer, a stranger)."""
    browser = FreshContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["REMOTE_ADDR"] = address
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return browser


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_shop(slug: str = "demo", name: str = "Demo Winkel", **fields) -> Shop:
    shop = Shop(slug=slug, name=name, notification_email=f"returns@{slug}.example.com", **fields)
    db.session.add(shop)
    db.session.flush()
    return shop


def make_user(email: str, shop: Shop | None = None, role: str = "agent", **fields) -> User:
    user = User(email=email, name=fields.pop("name", email.split("@")[0].title()), **fields)
    user.set_password("secret-pw")
    if shop is not None:
        user.memberships.append(Membership(shop=shop, role=role))
    db.session.add(user)
    db.session.flush()
    return user


class AuthActions:
    def __init__(self, client) -> None:
        self._client = client

    def login(self, email: str, password: str = "secret-pw"):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def live_server(app):
    """The app served over HTTP on loopback in a thread, sharing the test database."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    chromium = Path("/usr/bin/chromium")
    need_service("Debian chromium (/usr/bin/chromium)", chromium.exists())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page; ``page.goto(live_server.url + path)``."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
