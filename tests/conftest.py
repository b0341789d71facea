"""Test fixtures: the app on a migrated database, a real SMTP sink, Redis when configured, and
the shops, staff and orders that many test modules start from.

By default tests run on a SQLite file with in-process jobs. With ``DATABASE_URL`` (a
PostgreSQL server) a fresh database is created for the run; with ``REDIS_URL`` jobs go
through RQ. ``REQUIRE_SERVICES=1`` (set by .ci/run) turns "service missing" skips into
failures, so CI cannot pass by skipping.

Only fixtures live here. What they are built from is in helper modules that tests import
too (harness.py, factories.py, portal_helpers.py, …); no test module imports conftest.py or
another test module (test_foundation_smoke.py checks that).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from app import create_app
from cli import inbound_mail_server
from desk_helpers import Desk, open_desk
from extensions import db, limiter
from factories import make_order, make_question, make_reasons, make_shop, make_user
from harness import (
    AppState,
    AuthActions,
    FreshContextClient,
    SmtpSink,
    app_config,
    empty_all_tables,
    free_port,
    fresh_database,
    need_service,
)
from label_standins import running_sendcloud
from mail_helpers import REPLY_DOMAIN
from models import FormQuestion, Membership, Order, ReturnReason, ReturnRequest, Shop, User
from plain_templates import models_handed_to_templates
from portal_helpers import PORTAL_ORDER
from return_flow import approved_request
from serving import serving
from shopify_standin import running_shopify
from storage_backends import Backend, new_bucket, s3_endpoint, use_store
from tenancy_helpers import DEMO_ID, ShopData, shop_with_data
from webhook_helpers import Receiver, serve
from woocommerce_standin import running_woocommerce


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shop(prepare=None, **fields): what the `shop` fixture's shop differs in for this "
        "test or module: Shop fields, and `prepare`, called with the new shop",
    )


# --- the app ------------------------------------------------------------------------------------


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
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def migrated(database_uri, smtp_sink, tmp_path_factory):
    """Apply the Alembic migrations once; every test then starts from empty tables."""
    from flask_migrate import upgrade

    app = create_app(app_config(database_uri, smtp_sink, tmp_path_factory.mktemp("storage")))
    with app.app_context():
        upgrade()
    return database_uri


@pytest.fixture(scope="session")
def shared_app(migrated, smtp_sink, tmp_path_factory) -> AppState:
    """One app per test process: building one compiles some 230 URL rules and every template
    again, which was a third of the suite's time. ``app`` gives each test its own state."""
    app = create_app(app_config(migrated, smtp_sink, tmp_path_factory.mktemp("storage")))
    return AppState.of(app)


@pytest.fixture
def app(shared_app, smtp_sink, tmp_path):
    smtp_sink.clear()
    with (
        shared_app.for_one_test(tmp_path / "storage") as app,
        models_handed_to_templates(app) as handed,
        app.app_context(),
    ):
        limiter.reset()
        yield app
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()
    assert not handed, "templates see plain data (plain_templates.py): " + "; ".join(
        sorted(set(handed))
    )


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def live_server(app):
    """The app served over HTTP on loopback in a thread, sharing the test database."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    server.url = f"http://127.0.0.1:{port}"
    with serving(server):
        yield server


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


# --- a shop and its people ----------------------------------------------------------------------


@pytest.fixture
def shop(request, app) -> Shop:
    """Shop "demo" (Demo Winkel), committed, so every client and thread sees it.

    A module or test whose shop differs says how with a marker, which shows at its top:
    ``pytestmark = pytest.mark.shop(default_language="en")`` gives Shop fields, and
    ``prepare=notices.seed_default_rules`` is called with the new shop before the commit.
    """
    marker = request.node.get_closest_marker("shop")
    fields = dict(marker.kwargs) if marker else {}
    prepare = fields.pop("prepare", None)
    shop = make_shop(**fields)
    if prepare:
        prepare(shop)
    db.session.commit()
    return shop


@pytest.fixture
def anna(shop) -> User:
    """Anna, agent of the ``shop`` (anna@example.com)."""
    return make_user("anna@example.com", shop, name="Anna")


@pytest.fixture
def agent(shop) -> User:
    """An agent of the ``shop`` (agent@example.com)."""
    return make_user("agent@example.com", shop)


@pytest.fixture
def support(app) -> User:
    """Sanne, platform support (support@returndesk.test): every shop, every screen."""
    return make_user("support@returndesk.test", is_support=True, name="Sanne Support")


@dataclass
class ShopStaff:
    shop: Shop
    admin: User
    agent: User
    support: User


@pytest.fixture
def shop_staff(shop, client) -> ShopStaff:
    """The ``shop`` with its admin (admin@example.com, Anna Admin) and agent
    (agent@example.com, Bram Agent), and a platform support user (support@example.com);
    committed. (``client`` makes every ``app.test_client()`` run each request in its own app
    context, as browsers do.)"""
    staff = ShopStaff(
        shop,
        admin=make_user("admin@example.com", shop, role="admin", name="Anna Admin"),
        agent=make_user("agent@example.com", shop, name="Bram Agent"),
        support=make_user("support@example.com", is_support=True),
    )
    db.session.commit()
    return staff


@pytest.fixture
def desk(client, auth) -> Desk:
    """Demo Winkel (fee €5.95) with Anna, its agent, logged in and an API key for its webshop:
    requests are submitted by the API and decided through every entry point (desk_helpers)."""
    return open_desk(client, auth)


# --- what the customer returns ------------------------------------------------------------------


@pytest.fixture
def order(shop) -> Order:
    """The portal customer's order #1001 (``PORTAL_ORDER``), delivered three days ago."""
    order = make_order(shop, **PORTAL_ORDER)
    db.session.commit()
    return order


@pytest.fixture
def reasons(shop) -> dict[str, ReturnReason]:
    """The ``shop``'s reasons ``too_big`` and ``damaged`` (which needs a photo and a comment)."""
    reasons = make_reasons(shop)
    db.session.commit()
    return reasons


@pytest.fixture
def request_(shop, agent) -> ReturnRequest:
    """A request of two lines (€49.95 and €59.95), approved by the ``agent`` and committed."""
    return approved_request(shop, agent)


@pytest.fixture
def portal_demo(
    shop, order, reasons, agent
) -> tuple[Shop, Order, dict[str, ReturnReason], FormQuestion]:
    """What the browser tests' customer meets: the ``shop``, her ``order``, the ``reasons``
    and one required text question; the ``agent`` finds her request. ``(shop, order,
    reasons, question)``, committed."""
    question = make_question(shop, "text", label_nl="Waarom retour?", label_en="Why return?")
    db.session.commit()
    return shop, order, reasons, question


# --- the outside world on loopback --------------------------------------------------------------


@pytest.fixture
def sendcloud(app):
    """Sendcloud's stand-in (label_standins.py) on loopback, with the app pointed at it: its
    state, with the ``calls`` it got and ``announced``/``fail_with`` to steer it."""
    with running_sendcloud() as (port, state):
        app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # the stand-in is on loopback
        app.config["SENDCLOUD_API_URL"] = f"http://127.0.0.1:{port}/api/v3"
        yield state


@pytest.fixture
def woocommerce(app):
    """WooCommerce's stand-in (woocommerce_standin.py) on loopback: ``(shop URL, state)``, the
    state with its ``orders``, the ``calls`` it got, and ``answers``/``fail_from_call`` to steer
    it. Waits between tries are kept tiny, and pages small."""
    with running_woocommerce() as (url, state):
        app.config.update(
            OUTBOUND_ALLOW_PRIVATE=True,  # the stand-in is on loopback
            CONNECTOR_BACKOFF_SECONDS=0.01,
            CONNECTOR_MAX_WAIT_SECONDS=0.3,
            CONNECTOR_PAGE_SIZE=3,
        )
        yield url, state


@pytest.fixture
def inbound(app):
    """``flask mail inbound``'s SMTP endpoint on loopback, for replies to
    ``reply+TOKEN@`` ``mail_helpers.REPLY_DOMAIN`` (mails over 200 kB refused): its port."""
    app.config["INBOUND_REPLY_DOMAIN"] = REPLY_DOMAIN
    app.config["INBOUND_MAIL_MAX_BYTES"] = 200_000
    port = free_port()
    server = inbound_mail_server(app, "127.0.0.1", port)
    server.start()
    yield port
    server.stop()


@pytest.fixture
def receiver(app):
    """A webhook receiver on loopback that the app may post to, as in development
    (``OUTBOUND_ALLOW_PRIVATE``)."""
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    yield from serve(Receiver())


# --- two tenants --------------------------------------------------------------------------------


@pytest.fixture
def tenants(app) -> dict[str, ShopData]:
    """``fashion`` with its staff, and ``demo`` whose data they must never reach (every demo
    row has the id ``DEMO_ID``); a support user reaches both."""
    fashion = shop_with_data(
        "fashion",
        "Mode Huis",
        "Fenna Fashionista",
        "fenna@mode.example.nl",
        "MH-1001",
        "R-2026-00001",
    )
    make_user("agent@fashion.example.com", fashion.shop, "agent")
    make_user("admin@fashion.example.com", fashion.shop, "admin")
    make_user("support@example.com", is_support=True)
    demo = shop_with_data(
        "demo",
        "Demo Winkel",
        "Griet van Demohuizen",
        "griet@demo.example.nl",
        "DW-7001",
        "R-2026-00002",
        row_id=DEMO_ID,
    )
    demo_admin = make_user("admin@example.com", id=DEMO_ID, name="Daan Demobaas")
    membership = Membership(id=DEMO_ID, user=demo_admin, shop=demo.shop, role="admin")
    db.session.add(membership)
    demo.rows.update({User: demo_admin, Membership: membership})
    db.session.commit()
    return {"fashion": fashion, "demo": demo}


@pytest.fixture
def shopify(app):
    """Shopify's stand-in (shopify_standin.py) on loopback: ``(shop URL, state)``, set up like
    the ``woocommerce`` fixture (tiny waits, pages of three)."""
    with running_shopify() as (url, state):
        app.config.update(
            OUTBOUND_ALLOW_PRIVATE=True,
            CONNECTOR_BACKOFF_SECONDS=0.01,
            CONNECTOR_MAX_WAIT_SECONDS=0.3,
            CONNECTOR_PAGE_SIZE=3,
        )
        yield url, state


# --- file stores ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3():
    """An S3 endpoint on loopback (moto's server) for the test process."""
    with s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(params=["folder", "s3"])
def backend(request, app) -> Backend:
    """The app's file store, once its folder and once a fresh S3 bucket."""
    if request.param == "folder":
        return Backend("folder", use_store(app, ""))
    bucket = new_bucket(request.getfixturevalue("s3"))
    return Backend("s3", use_store(app, f"s3://{bucket}/attachments"))
