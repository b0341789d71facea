"""Every page in Dutch is Dutch: no English UI words on a staff or customer page.

The demo is seeded once; platform support, who sees every screen, works in Dutch and walks
every staff page reachable by a link from the dashboard (each Flask-Admin view's list, its
create, edit and details pages, the settings pages, team, outbox, account, API docs), and a
customer walks the portal in Dutch: the start page, each step of the request form, the status
page of a request in every status, the label pages and the error pages. A page fails when its
visible text, or a placeholder, title, aria-label or alt, holds an English msgid of our
catalog or Flask-Admin's whose Dutch differs, or a code name such as ``customer_email``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import flask_admin
import pytest
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select, update

from demo import data as demo_data
from demo import seeding
from demo.data import PASSWORD
from domain import notices
from extensions import db, limiter
from harness import FreshContextClient, app_config, empty_all_tables
from models import REQUEST_STATUSES, ReturnRequest, Shop, User, utcnow
from translation_helpers import ROOT, dutch_catalog, translations_of

ADMIN_PO = Path(flask_admin.__file__).parent / "translations" / "nl" / "LC_MESSAGES" / "admin.po"
# Our corrections of Flask-Admin's Dutch ("Reset Filters" is English in its own catalog).
ADMIN_CORRECTIONS = ROOT / "translations" / "nl" / "LC_MESSAGES" / "admin.po"
# Where staff pages live; the walk follows links under these only.
STAFF_PATHS = ("/admin", "/account", "/api/v1/docs")
# Links the walk does not follow: downloads, and leaving the session.
NOT_PAGES = re.compile(r"/export/|/pdf$|\.png$|/attachment|/download|/logout")
# The attributes a reader meets besides the text (a confirmation question is one too).
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-confirm")
# A code name leaking into a placeholder or title: ``customer_email``, ``requires_photo``
# (in the text a code such as a reason's ``too_small`` is data the screen shows on purpose).
CODE_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")
# Dutch says "je" on these pages (the demo's shops do not ask for "u").
FORMAL = re.compile(r"(?<!“)\b(?:u|uw)\b(?!”)", re.IGNORECASE)
# Genuine data, not interface words: English words inside names the demo gives its shops,
# products, people and API fields, which are the same in either language.
DATA = re.compile(
    r"Linnen blouse|Wollen|T-shirt|Sneakers"  # the demo's product names
    r"|ReturnDesk"  # the product's own name
    # the name a new shop's first notice rule is given, which support may rename
    + "|"
    + re.escape(notices.FREE_EXCHANGE_RULE)
    # a review stage's name as the history recorded it (workflow records the English name)
    + r"|beoordelingsstap: Photos requested"
    # a word in quotes is mentioned, not used: the codes a template compares with
    + r"|“[^”]*”"
)
# Msgids too short or too common to tell an English page from a Dutch one by (a word of up
# to four letters is often the same or a name: "Rol", "Team", "Code").
SHORTEST = 5


@dataclass
class Page:
    url: str
    text: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class VisibleText(HTMLParser):
    """The text a reader sees, and the attributes a screen reader or hover shows.

    Left out: scripts and styles, what a field holds (a textarea's text is data, not words
    of the page), data kept out of sight (``display:none``, Flask-Admin's script data), and
    what the page itself
    marks as another language (``lang="en"``: the language switch's "English", English
    labels a shop keeps, the API reference)."""

    SKIPPED = frozenset({"script", "style", "template", "textarea"})
    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attributes: list[str] = []
        self.links: list[str] = []
        self._open: list[tuple[str, bool]] = []  # each open element: is its content left out?

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = (
            tag in self.SKIPPED
            or attributes.get("lang", "nl") != "nl"
            or "display:none" in (attributes.get("style") or "").replace(" ", "")
            # Flask-Admin's JSON for its filter script, and the escaped HTML its inline
            # forms are copied from (the copies themselves are on the page as fields)
            or (attributes.get("id") or "").endswith("-data")
            or "inline-field-template" in (attributes.get("class") or "")
        )
        if tag not in self.VOID:
            self._open.append((tag, skipped))
        if skipped or self._left_out():
            return
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        for name in READ_ATTRIBUTES:
            if attributes.get(name):
                self.attributes.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.parts.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        """Close ``tag`` and whatever the page left open inside it (``<li>``, ``<p>``)."""
        if any(name == tag for name, _skipped in self._open):
            while self._open.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if not self._left_out() and data.strip():
            self.parts.append(" ".join(data.split()))

    def _left_out(self) -> bool:
        return any(skipped for _name, skipped in self._open)


def english_patterns() -> list[tuple[str, re.Pattern]]:
    """A pattern per English msgid (ours and Flask-Admin's) whose Dutch is another text."""
    admin = []
    for path in (ADMIN_PO, ADMIN_CORRECTIONS):
        with path.open("rb") as po:
            admin += list(read_po(po, locale="nl"))
    patterns = []
    for entry in [*dutch_catalog(), *admin]:
        msgid = entry.id[0] if isinstance(entry.id, tuple | list) else entry.id
        dutch = [text for text in translations_of(entry) if text]
        if not msgid or not dutch or all(text == msgid for text in dutch):
            continue
        literal = re.sub(r"%\(\w+\)[sdif]|\{\w*\}|%[sd]", "\x00", msgid)
        words = literal.replace("\x00", "").strip()
        if len(words) < SHORTEST:
            continue
        pieces = [re.escape(piece) for piece in literal.split("\x00")]
        body = ".{1,80}?".join(pieces)
        patterns.append((msgid, re.compile(rf"(?<![\w-]){body}(?![\w-])")))
    return patterns


def english_in(page: Page, patterns: list[tuple[str, re.Pattern]]) -> list[str]:
    found = []
    for part in [*page.text, *page.attributes]:
        text = DATA.sub("", part)
        found += [f"{msgid!r} in {part!r}" for msgid, pattern in patterns if pattern.search(text)]
        found += [f"'u' in {part!r}" for _word in FORMAL.findall(text)]
    for part in page.attributes:
        found += [f"code name {name!r} in {part!r}" for name in CODE_NAME.findall(part)]
    return found


def read(client: FreshContextClient, url: str, method: str = "GET", **kwargs) -> Page | None:
    """The page at ``url`` (after redirects), or ``None`` when it is not an HTML page."""
    response = client.open(url, method=method, follow_redirects=True, **kwargs)
    if not response.content_type.startswith("text/html"):
        return None
    parser = VisibleText()
    parser.feed(response.get_data(as_text=True))
    return Page(url, parser.parts, parser.attributes, parser.links)


def shape(url: str) -> str:
    """Pages of one kind share a shape: numbers and query values do not count."""
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    names = sorted({name for name, _value in parse_qsl(parts.query)} - {"id"})
    return f"{path}?{'&'.join(names)}"


def walk_staff(client: FreshContextClient, *starts: str) -> Iterator[Page]:
    """Every staff page reachable by links from ``starts``, one of each shape."""
    seen = {shape(start) for start in starts}
    queue = list(starts)
    while queue:
        url = queue.pop(0)
        page = read(client, url)
        if page is None:
            continue
        yield page
        for href in page.links:
            target = urljoin(url, href).split("#")[0]
            parts = urlsplit(target)
            if parts.netloc not in ("", "localhost") or not parts.path.startswith(STAFF_PATHS):
                continue
            if NOT_PAGES.search(parts.path) or shape(target) in seen:
                continue
            seen.add(shape(target))
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))


@pytest.fixture(scope="module")
def demo(migrated, smtp_sink, tmp_path_factory) -> Iterator[Flask]:
    from app import create_app

    app = create_app(app_config(migrated, smtp_sink, tmp_path_factory.mktemp("dutch-pages")))
    with app.app_context():
        limiter.reset()
        seeding.seed()
        db.session.execute(update(User).values(language="nl"))
        db.session.commit()
        yield app
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


@pytest.fixture(scope="module")
def patterns() -> list[tuple[str, re.Pattern]]:
    return english_patterns()


def browser(app: Flask) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    return client


def assert_dutch(pages: list[Page], patterns) -> None:
    found = [f"{page.url}: {hit}" for page in pages for hit in english_in(page, patterns)]
    if found:
        pytest.fail(f"{len(found)} English words on Dutch pages:\n" + "\n".join(found))


def test_every_staff_page_is_dutch(demo, patterns):
    staff = browser(demo)
    staff.post("/login", data={"email": "support@example.com", "password": PASSWORD})
    # A list with a filter on shows Flask-Admin's "Reset Filters" button.
    filtered = "/admin/outbox/?flt0_status_equals=sent"
    pages = list(walk_staff(staff, "/admin/", filtered, "/account", "/api/v1/docs"))
    shapes = {shape(page.url) for page in pages}
    for expected in ("/admin/requests/1", "/admin/team/", "/account", "/api/v1/docs"):
        assert shape(expected) in shapes, expected
    assert_dutch(pages, patterns)


def test_the_login_page_is_dutch(demo, patterns):
    assert_dutch([read(browser(demo), "/login")], patterns)


def customer_pages(app: Flask) -> Iterator[Page]:
    """What a customer meets in Dutch: the request form's steps with a demo order, the status
    and label pages of a request in each status, the withdrawal and the error pages."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == "demo"))
    order = seeding.returnable_orders(shop, utcnow())[0]
    customer = browser(app)
    yield read(customer, "/returns/demo/?lang=nl")
    yield read(
        customer,
        "/returns/demo/",
        "POST",
        data={"order_number": "nope", "email_or_postcode": "x@example.com"},
    )
    found = {"order_number": order.number, "email_or_postcode": order.customer_email}
    yield read(customer, "/returns/demo/", "POST", data=found)
    line = order.lines[0]
    chosen = {f"line-{line.id}": "1", f"qty-{line.id}": "1"}
    yield read(customer, "/returns/demo/items", "POST", data=chosen)
    yield read(customer, "/returns/demo/details", "POST", data={})
    for step in ("questions", "resolution", "review", "withdraw"):
        yield read(customer, f"/returns/demo/{step}")
    for status in REQUEST_STATUSES:
        request = db.session.scalar(
            select(ReturnRequest)
            .where(
                ReturnRequest.shop_id == shop.id,
                ReturnRequest.status == status,
                ReturnRequest.language == "nl",  # the label pages speak the request's language
            )
            .limit(1)
        )
        status_page = f"/returns/demo/status/{request.public_token}"
        yield read(customer, f"{status_page}?lang=nl")
        yield read(customer, f"{status_page}/label")
        yield read(customer, f"{status_page}/label/qr")
    yield read(customer, "/returns/demo/status/no-such-link")
    yield read(customer, "/returns/no-such-shop/")


def test_every_customer_page_is_dutch(demo, patterns):
    pages = [page for page in customer_pages(demo) if page is not None]
    assert_dutch(pages, patterns)


# Informal Dutch, which a shop that addresses its customers formally never shows them.
INFORMAL = re.compile(r"\b(?:je|jou|jouw|jij|jezelf)\b", re.IGNORECASE)
# What the demo's staff typed to customers (messages, a reason to cancel): their own words.
STAFF_WORDS = re.compile(
    "|".join(
        re.escape(text).replace(re.escape("{first}"), r"\w+")
        for text in (
            demo_data.ASK_PHOTO[0],
            demo_data.ASK_PREFERENCE[0],
            *(dutch for dutch, _english in demo_data.CANCEL_REASONS),
        )
    )
)


def test_every_customer_page_of_a_formal_shop_says_u(demo):
    shop = db.session.scalar(select(Shop).where(Shop.slug == "demo"))
    shop.address_formally = True
    db.session.commit()
    try:
        pages = [page for page in customer_pages(demo) if page is not None]
    finally:
        shop.address_formally = False
        db.session.commit()
    found = [
        f"{page.url}: {part!r}"
        for page in pages
        for part in [*page.text, *page.attributes]
        if INFORMAL.search(STAFF_WORDS.sub("", part)) and "/no-such-shop/" not in page.url
    ]
    if found:
        pytest.fail("informal Dutch on a formal shop's pages:\n" + "\n".join(found))
