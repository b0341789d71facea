"""``make screenshots``: the seed's story in Debian's Chromium, written as PNGs to this folder.

A fresh demo (its own SQLite database and files in a temporary folder) is served on loopback;
a customer returns an item through the portal, the agent finds the request in "Requests",
opens it and approves it, the customer reads the status page with the label, and the shop's
lead looks at "Returns" and the dashboard. Every page is taken on a desktop (1280 × 800) and a
phone (390 × 844), in Dutch and in English: ``<language>-<device>-<nn>-<page>.png``.
An optional argument names another folder to write them to (the tests use one).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from demo import seeding  # noqa: E402
from demo.data import PASSWORD  # noqa: E402
from extensions import db  # noqa: E402
from models import Shop, utcnow  # noqa: E402

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
LOCALES = {"nl": "nl-NL", "en": "en-US"}
SHOP = "demo"
AGENT = "agent@example.com"
LEAD = "admin@example.com"


@dataclass
class Shots:
    """Numbered screenshots of one language and device."""

    page: Page
    prefix: str
    folder: Path
    count: int = 0

    def take(self, name: str) -> None:
        self.count += 1
        self.page.wait_for_load_state("networkidle")
        path = self.folder / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        print(f"  {path}")


@contextmanager
def demo_served(folder: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The demo on a free loopback port: its URL and orders to try the portal with."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'screenshots.db'}",
            "STORAGE_DIR": str(folder / "storage"),
            "SECRET_KEY": "screenshots",
            "MAIL_SERVER": None,
            "RATELIMIT_ENABLED": False,
            "PUBLIC_URL": "http://127.0.0.1",
        }
    )
    with app.app_context():
        upgrade()
        seeding.seed()
        shop = db.session.scalar(db.select(Shop).where(Shop.slug == SHOP))
        found = seeding.returnable_orders(shop, utcnow(), limit=10)
        orders = [(o.number, o.customer_email) for o in found]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", orders
    finally:
        server.shutdown()


def submit(page: Page) -> None:
    page.locator("form.portal-form button[type=submit]").first.click()
    page.wait_for_load_state()


def customer_returns_an_item(shots: Shots, base: str, order: tuple[str, str], lang: str) -> str:
    """Through the portal to the status page; the request's number (from its heading)."""
    page = shots.page
    page.goto(f"{base}/returns/{SHOP}/?lang={lang}")
    page.locator("#order_number").fill(order[0])
    page.locator("#email_or_postcode").fill(order[1])
    shots.take("portal-order-lookup")
    submit(page)
    page.locator("form.portal-form input[type=checkbox]").first.check(force=True)
    shots.take("portal-items")
    submit(page)
    steps: dict[str, Callable[[], None]] = {
        "/details": lambda: describe_the_first_item(page),
        "/questions": lambda: answer_the_questions(page),
        "/resolution": lambda: page.locator("input[name=resolution]").first.check(force=True),
    }
    for step in steps_taken(page, steps):
        steps[step]()
        shots.take(f"portal-{step.strip('/')}")
        submit(page)
    shots.take("portal-review")
    submit(page)
    shots.take("portal-status")
    return page.locator("h1").inner_text().split()[-1]


def steps_taken(page: Page, steps: dict[str, Callable[[], None]]) -> Iterator[str]:
    """The portal's steps as they come (a shop may leave some out), each once."""
    done: set[str] = set()
    while step := next((s for s in steps if page.url.split("?")[0].endswith(s)), None):
        if step in done:
            sys.exit(f"the portal did not take the answers on {page.url}")
        done.add(step)
        yield step


def describe_the_first_item(page: Page) -> None:
    reason = page.locator("select[id^=reason-]").first
    reason.select_option(index=1)
    page.locator("textarea[id^=comment-]").first.fill("Valt kleiner dan verwacht.")


def answer_the_questions(page: Page) -> None:
    for field in page.locator("form.portal-form textarea, form.portal-form input[type=text]").all():
        field.fill("Ja")
    for select in page.locator("form.portal-form select").all():
        select.select_option(index=1)
    answered: set[str] = set()
    for choice in page.locator("form.portal-form input[type=radio]").all():
        name = choice.get_attribute("name") or ""
        if name not in answered:
            choice.check(force=True)
            answered.add(name)


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form:has(#password) button[type=submit]").click()
    page.wait_for_url("**/admin/")


def agent_approves(shots: Shots, base: str, number: str) -> None:
    page = shots.page
    log_in(page, base, AGENT)
    page.goto(f"{base}/admin/requests/")
    shots.take("staff-requests")
    page.get_by_role("link", name=number).first.click()
    page.wait_for_load_state()
    shots.take("staff-request-page")
    page.locator("form:has(input[name=action][value=approve]) button[type=submit]").first.click()
    page.wait_for_load_state()
    shots.take("staff-request-approved")


def lead_looks_around(shots: Shots, base: str) -> None:
    page = shots.page
    page.goto(f"{base}/logout")
    log_in(page, base, LEAD)
    shots.take("staff-dashboard")
    page.goto(f"{base}/admin/returns/")
    shots.take("staff-returns")


def the_story(
    browser: Browser, base: str, order: tuple[str, str], lang: str, device: str, folder: Path
) -> None:
    context = browser.new_context(locale=LOCALES[lang], **DEVICES[device])
    shots = Shots(context.new_page(), f"{lang}-{device}", folder)
    number = customer_returns_an_item(shots, base, order, lang)
    status_url = shots.page.url
    agent_approves(shots, base, number)
    shots.page.goto(status_url)
    shots.take("portal-status-approved")
    lead_looks_around(shots, base)
    context.close()


def main(out: Path = HERE) -> None:
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    for old in out.glob("*.png"):
        old.unlink()
    with (
        tempfile.TemporaryDirectory() as folder,
        demo_served(Path(folder)) as (base, orders),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        stories = [(lang, device) for lang in LOCALES for device in DEVICES]
        if len(orders) < len(stories):
            sys.exit(f"the demo has {len(orders)} orders to try, {len(stories)} are needed")
        for (lang, device), order in zip(stories, orders, strict=False):
            print(f"{lang}, {device}:")
            the_story(browser, base, order, lang, device, out)
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
