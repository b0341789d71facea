"""What the fixtures are made of, for tests that need an app or a client of their own.

conftest.py builds the usual fixtures from these; a test that needs the app configured
otherwise (CSRF on, another mail server, a proxy in front) builds one with ``app_config()``.
Test modules import these from here: conftest.py holds fixtures only.
"""

from __future__ import annotations

import html
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BaseLoader
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from extensions import db, limiter

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


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """The address of a new, empty database of the kind DATABASE_URL names (a SQLite file in
    ``directory`` without it), dropped afterwards."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{directory / 'test.db'}"
        return
    url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"returndesk_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_config(database_uri: str, smtp_sink: SmtpSink, storage: Path) -> dict:
    """The configuration of a test app: this run's database, the SMTP sink, its own storage.

    (Not ``test_config``: pytest would collect that name as a test wherever it is imported.)
    """
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
        "RQ_QUEUE": unique_queue_name(),
        # With REDIS_URL, jobs go through Redis and run at once; test_outbox.py runs a real
        # worker against an asynchronous queue.
        "RQ_ASYNC": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@dataclass
class AppState:
    """The shared test app and what a test may change on it, to put back after the test.

    Tests set ``app.config`` keys, put things in ``app.extensions`` (the store, a Redis client)
    and swap the Jinja loader. Flask-Limiter keeps its storage on the one ``limiter`` object,
    so a test that builds an app of its own rebinds it; each test binds it back.
    """

    app: Flask
    config: dict
    extensions: dict
    template_loader: BaseLoader | None
    limiter_binding: dict

    @classmethod
    def of(cls, app: Flask) -> AppState:
        return cls(
            app,
            dict(app.config),
            dict(app.extensions),
            app.jinja_env.loader,
            dict(vars(limiter)),
        )

    @contextmanager
    def for_one_test(self, storage: Path) -> Iterator[Flask]:
        """The app with its own storage folder and queue for one test, then as it was."""
        vars(limiter).update(self.limiter_binding)
        self.app.config.update(STORAGE_DIR=str(storage), RQ_QUEUE=unique_queue_name())
        try:
            yield self.app
        finally:
            self.app.config.clear()
            self.app.config.update(self.config)
            self.app.extensions.clear()
            self.app.extensions.update(self.extensions)
            self.app.jinja_env.loader = self.template_loader


def unique_queue_name() -> str:
    return f"returndesk-test-{uuid.uuid4().hex[:8]}"


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


def client_at(app: Flask, address: str) -> FlaskClient:
    """A browser of its own at client address ``address`` (another customer, a stranger)."""
    browser = FreshContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["REMOTE_ADDR"] = address
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return browser


class AuthActions:
    """Logging a client in and out through the login form (every test user's password is
    ``secret-pw``)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = "secret-pw"):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


def visible(markup: str) -> str:
    """The text a reader sees: no tags, entities decoded, runs of spaces and line breaks as one
    space (a non-breaking space stays: money is written "€\xa05,95")."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return re.sub(r"[ \t\r\n]+", " ", text)
