"""The request page as a desk in a real browser: an agent walks a filtered Requests list with
the keyboard ("a" approves and opens the next request), "?" lists the shortcuts in a dialog,
and typing in a field never fires a shortcut."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from axe_audit import Audit
from browser_helpers import log_in
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, CONCEPT, NEW, ON_HOLD, ReturnRequest, utcnow


def status_of(request_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ReturnRequest, request_id).status


@pytest.mark.browser
def test_agent_approves_a_filtered_list_with_the_keyboard(page, live_server, smtp_sink):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    order = make_order(shop, lines=1)
    now = utcnow()
    first, concept, second, third = (
        make_request(
            shop, order, status=status, language="en", created_at=now - timedelta(minutes=i)
        )
        for i, status in enumerate((NEW, CONCEPT, NEW, NEW))
    )
    db.session.commit()
    base = live_server.url
    log_in(page, base, "anna@example.com")

    page.goto(base + "/admin/requests/?flt0_status=new")
    page.get_by_role("link", name=first.number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {first.number}")
    if os.environ.get("DESK_SCREENSHOTS"):
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=os.environ["DESK_SCREENSHOTS"] + "/wide.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 800})
        page.screenshot(path=os.environ["DESK_SCREENSHOTS"] + "/narrow.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 720})

    # "j" and "k": the next and previous request of the filtered list (concept is not in it).
    on_request(page, first)
    page.keyboard.press("j")
    on_request(page, second)
    page.keyboard.press("k")
    on_request(page, first)

    # "?" opens the list of shortcuts as a dialog; Escape closes it.
    audit = Audit()
    audit.check(page, "request page")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Approve and next")
    audit.check(page, "shortcuts dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    audit.assert_clean()

    # "c" opens Cancel and puts the cursor in its reason; "j" typed there is just a letter.
    page.keyboard.press("c")
    expect(page.get_by_label("Reason for cancelling (sent to the customer)")).to_be_focused()
    page.keyboard.type("j")
    on_request(page, first)
    page.get_by_label("Reason for cancelling (sent to the customer)").fill("")
    page.keyboard.press("Escape")  # leaves the field: the shortcuts work again

    # "r" goes to the message box, where "a" is just a letter.
    page.keyboard.press("r")
    expect(page.locator("#message-body")).to_be_focused()
    page.keyboard.type("a")
    expect(page.locator("#message-body")).to_have_value("a")
    assert status_of(first.id) == NEW
    page.locator("#message-body").fill("")
    page.keyboard.press("Escape")

    # "a" approves and lands on the next request of the filtered list.
    page.keyboard.press("a")
    on_request(page, second)
    assert status_of(first.id) == APPROVED
    page.keyboard.press("a")
    on_request(page, third)

    # The last one: back to the list, which says so.
    page.keyboard.press("a")
    expect(page.get_by_role("status").filter(has_text="That was the last request")).to_be_visible()
    assert page.url.endswith("/admin/requests/?flt0_status=new")
    assert [status_of(r.id) for r in (first, second, third)] == [APPROVED] * 3
    assert status_of(concept.id) == CONCEPT


def on_request(page, request: ReturnRequest) -> None:
    """The request's page is open and its shortcuts are ready (the script shows their button)."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {request.number}")
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_visible()


@pytest.mark.browser
def test_a_colleagues_hold_is_shown_at_the_top_and_taken_over(page, live_server, smtp_sink):
    shop = make_shop()
    bram = make_user("bram@example.com", shop, name="Bram")
    make_user("anna@example.com", shop, role="admin", name="Anna")
    held = make_request(
        shop, status=ON_HOLD, held_by=bram, held_since=utcnow(), status_before_hold=NEW
    )
    db.session.commit()
    log_in(page, live_server.url, "anna@example.com")

    page.goto(live_server.url + f"/admin/requests/{held.id}")
    banner = page.locator("#holder-banner")
    expect(banner).to_contain_text("Held by Bram since")
    audit = Audit()
    audit.check(page, "request held by a colleague")
    audit.assert_clean()
    banner.get_by_role("button", name="Take over").click()

    expect(page.locator("#holder-banner")).to_have_count(0)
    expect(page.locator("#held-by")).to_contain_text("Anna since")
