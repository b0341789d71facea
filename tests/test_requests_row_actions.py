"""The Requests list's row actions, compact: each row shows one button, its likeliest next
step (Approve while the request waits for a decision), and keeps the others in a small "⋯"
menu named with the request's number. The menu is a ``<details>``, so it works without
JavaScript; its items post the row's form, with the CSRF token, as the buttons did before."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest

from app import create_app
from extensions import db
from factories import make_order, make_request, make_user
from harness import app_config
from models import APPROVED, CONCEPT, NEW, ON_HOLD, ReturnRequest, utcnow
from staff_helpers import csrf_token_in


@dataclass
class RowActions:
    """One row's actions cell as a reader meets it."""

    primary: list[str] = field(default_factory=list)  # the actions outside the menu
    menu: list[str] = field(default_factory=list)  # the actions inside it
    menu_name: str | None = None  # the accessible name of the menu's button
    form: dict[str, str] = field(default_factory=dict)  # the row form's hidden fields
    form_url: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # each action's accessible name
    classes: dict[str, str] = field(default_factory=dict)  # each action's classes


class ListRows(HTMLParser):
    """Every row's actions cell (``td.list-buttons-column``), by the row's request id."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, RowActions] = {}
        self.row_id: int | None = None
        self.cell: RowActions | None = None
        self.in_menu = False
        self.in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        css = attrs.get("class") or ""
        if tag == "input" and "action-checkbox" in css:
            self.row_id = int(attrs["value"])
        elif tag == "td" and "list-buttons-column" in css and self.row_id is not None:
            self.cell = self.rows[self.row_id] = RowActions()
        elif self.cell is None:
            return
        elif tag == "form":
            self.in_form, self.cell.form_url = True, attrs["action"]
        elif tag == "input" and attrs.get("type") == "hidden" and self.in_form:
            self.cell.form[attrs["name"]] = attrs["value"]
        elif tag == "details":
            self.in_menu = True
        elif tag == "summary":
            self.cell.menu_name = attrs.get("aria-label")
        elif tag == "button" or (tag == "a" and attrs.get("href", "").endswith("#cancel")):
            name = attrs.get("value") if tag == "button" else "cancel"
            assert tag == "a" or self.in_form, "a button posts the row's form"
            (self.cell.menu if self.in_menu else self.cell.primary).append(name)
            self.cell.names[name] = attrs.get("aria-label")
            self.cell.classes[name] = css

    def handle_endtag(self, tag):
        if tag == "details":
            self.in_menu = False
        elif tag == "form":
            self.in_form = False
        elif tag == "td":
            self.cell = None


def row_actions(page: str) -> dict[int, RowActions]:
    parser = ListRows()
    parser.feed(page)
    return parser.rows


@pytest.fixture
def logged_in(client, auth, anna):
    db.session.commit()
    auth.login(anna.email)
    return client


def held(shop, holder) -> ReturnRequest:
    return make_request(
        shop,
        make_order(shop, lines=1),
        status=ON_HOLD,
        held_by=holder,
        held_since=utcnow(),
        status_before_hold=NEW,
    )


def every_item_rejected(shop) -> ReturnRequest:
    request = make_request(shop, make_order(shop, lines=1))
    for line in request.lines:
        line.decision, line.decision_reason = "rejected", "Worn"
    return request


def test_each_row_shows_its_likeliest_step_and_keeps_the_rest_in_its_menu(logged_in, shop, anna):
    bram = make_user("bram@example.com", shop, name="Bram")
    order = make_order(shop, lines=1)
    new, concept, approved = (make_request(shop, order, status=s) for s in (NEW, CONCEPT, APPROVED))
    mine, bram_s, rejected = held(shop, anna), held(shop, bram), every_item_rejected(shop)
    db.session.commit()

    rows = row_actions(logged_in.get("/admin/requests/?all=1").get_data(as_text=True))

    def shape(request):
        return rows[request.id].primary, rows[request.id].menu

    assert shape(new) == (["approve"], ["hold", "cancel"])
    assert shape(concept) == (["approve"], ["hold", "cancel"])
    assert shape(mine) == (["approve"], ["release", "cancel"])
    # Nothing may be approved: cancelling is what is left to decide.
    assert shape(rejected) == (["cancel"], ["hold"])
    # Decided: the customer's turn, so no step is the likely one; cancel stays at hand.
    assert shape(approved) == ([], ["cancel"])
    # A colleague's hold: nothing to do from the list.
    assert shape(bram_s) == ([], [])
    for request in (new, concept, mine, rejected, approved):
        cell = rows[request.id]
        assert len(cell.primary) <= 1
        assert cell.menu_name == f"More actions for {request.number}"
        for action in cell.primary + cell.menu:
            assert cell.names[action].endswith(request.number), "a reader hears which request"


def test_hold_is_orange_approve_green_and_cancel_red_in_the_row_and_its_menu(logged_in, shop, anna):
    new, mine = make_request(shop), held(shop, anna)
    db.session.commit()

    rows = row_actions(logged_in.get("/admin/requests/?all=1").get_data(as_text=True))

    assert "btn-success" in rows[new.id].classes["approve"]
    assert "btn-hold" in rows[new.id].classes["hold"]
    assert "btn-outline-hold" in rows[mine.id].classes["release"]
    assert "btn-danger" in rows[new.id].classes["cancel"]
    assert "btn-danger" in rows[mine.id].classes["cancel"]


def test_the_menus_cancel_opens_the_request_pages_cancel_form_from_the_list(logged_in, shop):
    request = make_request(shop)
    db.session.commit()

    listing = logged_in.get("/admin/requests/?flt0_status=new").get_data(as_text=True)

    href = f'href="/admin/requests/{request.id}?list=flt0_status%3Dnew#cancel"'
    assert href in listing.split('class="row-menu"')[1].split("</details>")[0]


def test_the_dutch_list_names_its_menu_and_search_in_dutch(client, auth, shop):
    make_user("lotte@example.com", shop, name="Lotte", language="nl")
    request = make_request(shop)
    db.session.commit()
    auth.login("lotte@example.com")

    page = client.get("/admin/requests/?all=1").get_data(as_text=True)

    assert row_actions(page)[request.id].menu_name == f"Meer acties voor {request.number}"
    assert 'placeholder="Zoek op naam, e-mail, ordernummer of aanvraagnummer"' in page


# --- The menu's forms as deployed: CSRF on -------------------------------------------------


@pytest.fixture
def csrf_client(app, migrated, smtp_sink, tmp_path):
    """A client of the app as deployed: CSRF protection on."""
    config = app_config(migrated, smtp_sink, tmp_path / "storage-csrf")
    config["WTF_CSRF_ENABLED"] = True
    return create_app(config).test_client()


def log_in_with_csrf(client, email: str) -> None:
    token = csrf_token_in(client.get("/login").data)
    answer = client.post(
        "/login", data={"email": email, "password": "secret-pw", "csrf_token": token}
    )
    assert answer.status_code == 302


def test_hold_from_the_menu_puts_the_request_on_hold_and_keeps_the_list(csrf_client, shop, anna):
    request = make_request(shop)
    db.session.commit()
    log_in_with_csrf(csrf_client, anna.email)
    listing = "/admin/requests/?flt0_status=open&page_size=100&search=" + request.order_number

    cell = row_actions(csrf_client.get(listing).get_data(as_text=True))[request.id]
    assert "hold" in cell.menu
    assert cell.form["csrf_token"]
    without_token = {k: v for k, v in cell.form.items() if k != "csrf_token"}
    refused = csrf_client.post(cell.form_url, data={**without_token, "action": "hold"})
    answer = csrf_client.post(cell.form_url, data={**cell.form, "action": "hold"})

    assert refused.status_code == 400
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.path}?{back.query}" == listing, "the same list: filters, page size, search"
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == ON_HOLD
    assert db.session.get(ReturnRequest, request.id).held_by_id == anna.id
    after = row_actions(csrf_client.get(listing).get_data(as_text=True))[request.id]
    assert (after.primary, after.menu) == (["approve"], ["release", "cancel"])


def test_every_posting_action_of_a_row_is_a_button_of_its_form_with_the_csrf_token(
    csrf_client, shop, anna
):
    new, mine = make_request(shop), held(shop, anna)
    db.session.commit()
    log_in_with_csrf(csrf_client, anna.email)

    rows = row_actions(csrf_client.get("/admin/requests/?all=1").get_data(as_text=True))

    for request in (new, mine):
        cell = rows[request.id]
        assert cell.form_url == f"/admin/requests/{request.id}/act"
        assert set(cell.form) == {"csrf_token", "next"}
    # Release from the menu, as the hold above: the request is free again.
    answer = csrf_client.post(
        rows[mine.id].form_url, data={**rows[mine.id].form, "action": "release"}
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReturnRequest, mine.id).status == NEW


# --- The list's other promises: a bulk action keeps the list ----------------------------------


def test_a_bulk_action_from_with_selected_comes_back_to_the_same_list(logged_in, shop):
    request = make_request(shop)
    db.session.commit()
    listing = f"/admin/requests/?flt0_status=open&page_size=50&search={request.order_number}"
    page = logged_in.get(listing).get_data(as_text=True)
    back_to = re.search(
        r'<form id="action_form" action="([^"]+)".*?name="url"[^>]*value="([^"]+)"', page, re.S
    )
    action_url, list_url = (html.unescape(part) for part in back_to.groups())

    confirm = logged_in.post(
        action_url, data={"action": "concept", "url": list_url, "rowid": [str(request.id)]}
    )
    confirmation = confirm.headers["Location"]
    done = logged_in.post(confirmation, data={"action": "concept"})

    wanted = {"flt0_status": "open", "page_size": "50", "search": request.order_number}
    assert wanted.items() <= dict(parse_qsl(urlsplit(confirmation).query)).items()
    assert urlsplit(done.headers["Location"]).path == "/admin/requests/"
    assert wanted.items() <= dict(parse_qsl(urlsplit(done.headers["Location"]).query)).items()
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == CONCEPT
