"""ReturnDesk: the application factory every entry point uses (server, CLI, tests, workers)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import admin_views
import cli
from domain import dashboard_marks, formal_address, formatting, notifications, request_reasons
from domain.formatting import money
from extensions import babel, csrf, db, limiter, login, migrate
from models import include_in_schema_comparison
from services import outbox, sqlite_transactions
from services.mailer import mail
from web import api, auth, errors, int_args, platform_webhooks
from web.admin import integration
from web.csp import content_security_policy, csp_nonce
from web.portal import messages, request_form, return_label

LANGUAGES = ("nl", "en")


def database_url(instance_path: str) -> str:
    """DATABASE_URL, with the psycopg 3 driver for plain postgres URLs; SQLite by default."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'returndesk.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ``instance/``."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def local_url(port: str) -> str:
    """The address ``flask run --host 127.0.0.1 --port PORT`` (``make run``) serves."""
    return f"http://127.0.0.1:{int(port)}"


def default_config(instance_path: str) -> dict[str, Any]:
    """Configuration from the environment (a ``.env`` is read); see README."""
    redis_url = os.environ.get("REDIS_URL") or None
    mail_port = int(os.environ.get("MAIL_PORT", "25"))
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "returndesk"),
        # Seconds between the workers' sweeps (services/schedule.py).
        "SWEEP_EVERY": int(os.environ.get("SWEEP_EVERY", "60")),
        # Customers' replies by email (services/inbound_mail.py): the domain of the Reply-To
        # addresses (reply+TOKEN@…) that the mail server forwards to `flask mail inbound`;
        # unset, emails carry no Reply-To and replies go through the status page only.
        "INBOUND_REPLY_DOMAIN": os.environ.get("INBOUND_REPLY_DOMAIN") or None,
        "INBOUND_MAIL_MAX_BYTES": int(os.environ.get("INBOUND_MAIL_MAX_BYTES", str(25 * 2**20))),
        # The other way in for those replies: a mailbox the workers poll every
        # INBOUND_IMAP_EVERY seconds, imaps://user:password@host:993/INBOX
        # (services/inbound_imap.py); unset, nothing is polled.
        "INBOUND_IMAP_URL": os.environ.get("INBOUND_IMAP_URL") or None,
        "INBOUND_IMAP_EVERY": int(os.environ.get("INBOUND_IMAP_EVERY", "60")),
        # Seconds between the scheduled order syncs of every connected platform (a catch-up of
        # what the platform's webhooks missed).
        "CONNECTOR_SYNC_EVERY": int(os.environ.get("CONNECTOR_SYNC_EVERY", "900")),
        # Seconds between the recounts of the dashboard's marked days (services/dashboard_recount.py).
        "DASHBOARD_RECOUNT_EVERY": int(os.environ.get("DASHBOARD_RECOUNT_EVERY", "60")),
        # Seconds between the retention job's runs (services/retention.py): daily.
        "RETENTION_EVERY": int(os.environ.get("RETENTION_EVERY", str(24 * 3600))),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": mail_port,
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") == "1",
        "MAIL_USE_SSL": os.environ.get("MAIL_USE_SSL", "") == "1",
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "ReturnDesk <no-reply@localhost>"
        ),
        # Seconds to wait for the mail server (connect, each reply) before the attempt fails.
        "MAIL_TIMEOUT": int(os.environ.get("MAIL_TIMEOUT", "30")),
        # Flask-Mail sends nothing under TESTING by default; the outbox would then call an
        # unsent email sent. Without MAIL_SERVER emails stay pending instead (services/outbox.py).
        "MAIL_SUPPRESS_SEND": False,
        "STORAGE_DIR": os.environ.get("STORAGE_DIR", str(Path(instance_path) / "storage")),
        # Empty: the folder STORAGE_DIR; else file:///a/folder or s3://bucket/prefix (stores.py).
        "STORAGE_URL": os.environ.get("STORAGE_URL", ""),
        # The base of the links in emails. Without PUBLIC_URL (only needed behind a proxy) it
        # is the address `make run` serves: loopback on PORT, which the Makefile passes on.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL") or local_url(os.environ.get("PORT") or "5000"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # A Redis that does not answer within a second counts as down (see extensions.py).
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 60 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        # Failed logins to one account from one client address before that address must
        # wait; see throttling.py for the slowdown per account from every address.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        # Every limit of a request is checked, so a refused client is told its longest wait.
        "RATELIMIT_FAIL_ON_FIRST_BREACH": False,
        # How many reverse proxies (load balancer, nginx) stand before the app and set
        # X-Forwarded-For/-Proto/-Host; 0 trusts no such header.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Loopback and private addresses as webhook and carrier targets, for development
        # and tests only (see outbound.py).
        "OUTBOUND_ALLOW_PRIVATE": os.environ.get("OUTBOUND_ALLOW_PRIVATE", "") == "1",
        # API calls allowed per key, and per address for calls without a valid key.
        "API_RATE_LIMIT_PER_KEY": os.environ.get("API_RATE_LIMIT_PER_KEY", "600 per minute"),
        "API_RATE_LIMIT_PER_ADDRESS": os.environ.get("API_RATE_LIMIT_PER_ADDRESS", "60 per minute"),
        # Fernet keys for the shops' platform credentials, comma separated, the first
        # encrypting (see services/encryption.py); unset: derived from SECRET_KEY.
        "ENCRYPTION_KEY": os.environ.get("ENCRYPTION_KEY") or None,
        # Calls to a shop's platform: tries per call, backoff and the longest wait between
        # tries (a 429's Retry-After included), and the timeout of one call, in seconds.
        "CONNECTOR_ATTEMPTS": int(os.environ.get("CONNECTOR_ATTEMPTS", "4")),
        "CONNECTOR_BACKOFF_SECONDS": float(os.environ.get("CONNECTOR_BACKOFF_SECONDS", "2")),
        "CONNECTOR_MAX_WAIT_SECONDS": float(os.environ.get("CONNECTOR_MAX_WAIT_SECONDS", "60")),
        "CONNECTOR_TIMEOUT_SECONDS": float(os.environ.get("CONNECTOR_TIMEOUT_SECONDS", "15")),
    }


def select_locale() -> str:
    """The language of a page: a forced one (portal), the user's choice, then the browser's."""
    if forced := getattr(g, "locale", None):
        return forced
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or "en"


def add_security_headers(response):
    """Headers every page carries; see README "Security and reliability"."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    if current_app.config["SESSION_COOKIE_SECURE"]:
        # Cookies marked Secure mean the site is served over HTTPS: browsers keep to it.
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


def refuse_nul_bytes() -> None:
    """A NUL byte in a form or query is never typed by a person and PostgreSQL cannot store
    it: answer 400 instead of failing deep in a query."""
    fields = [*request.args.lists(), *request.form.lists()]
    if any("\x00" in value for _name, values in fields for value in values):
        abort(400)


def log_to_stderr() -> None:
    """What the app logs (a rate-limit store that is down and back, a job Redis did not take,
    a sweep that failed, who chose "Retry now") goes to stderr, where gunicorn's, the workers'
    and the sweeper's supervisors collect it, unless the host configured logging itself."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s"
        )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure ReturnDesk."""
    load_dotenv()
    log_to_stderr()
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(default_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    int_args.bound_url_ints(app)

    if proxies := app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    db.init_app(app)
    with app.app_context():
        sqlite_transactions.install(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        render_as_batch=True,
        include_object=include_in_schema_comparison,
    )
    login.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel's own domain, which also knows the formal "u" of a shop's customers.
    babel.domain_instance = formal_address.FormalAwareDomain()

    app.register_blueprint(auth.bp)
    app.register_blueprint(request_form.bp)
    app.register_blueprint(return_label.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(platform_webhooks.bp)
    app.register_error_handler(HTTPException, errors.answer_http_error)
    integration.register(admin_views.init_admin(app))
    cli.register(app)
    outbox.listen_for_commits()
    notifications.listen()
    dashboard_marks.listen()
    request_reasons.listen()
    app.before_request(refuse_nul_bytes)
    app.after_request(add_security_headers)
    app.jinja_env.globals.update(get_locale=get_locale, money=money, csp_nonce=csp_nonce)
    app.jinja_env.filters.update(
        shop_time=formatting.shop_time,
        moment=formatting.moment,
        moment_date=formatting.moment_date,
    )
    return app
