"""Every control shows where the keyboard is: tabbing through the Requests list, the request
page, a support editor and the portal's items step (Debian Chromium), each control that takes
the focus draws an outline or a box shadow."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from browser_helpers import find_order, log_in
from extensions import db
from factories import make_request, make_user
from models import CONCEPT

pytestmark = pytest.mark.browser

RING = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow !== 'none';
  return [ring, e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || e.name || '').trim().slice(0, 40)];
}"""


def controls_without_a_ring(page: Page, tabs: int = 80) -> list[str]:
    """Tab through the page (up to ``tabs`` times); the focused controls that show no ring.
    The page must have had controls to tab to (a page the keyboard cannot enter fails)."""
    missing = []
    visited = 0
    page.locator("body").focus()
    for _ in range(tabs):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        visited += 1
        ring, what = page.evaluate(RING)
        if not ring:
            missing.append(what)
    assert visited >= 3, page.url
    return missing


def test_every_staff_control_shows_a_focus_ring(browser, live_server, shop, support):
    make_user("anna@example.com", shop, name="Anna", role="admin")
    request = make_request(shop, language="en")
    make_request(shop, status=CONCEPT)
    db.session.commit()
    page = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "anna@example.com")
    missing = {}
    for path in ("/admin/requests/", f"/admin/requests/{request.id}"):
        page.goto(live_server.url + path)
        missing[path] = controls_without_a_ring(page)
    page.goto(live_server.url + "/logout")
    log_in(page, live_server.url, support.email)
    page.goto(live_server.url + "/admin/rules/new/")
    missing["/admin/rules/new/"] = controls_without_a_ring(page)
    page.context.close()
    assert {path: found for path, found in missing.items() if found} == {}


def test_every_portal_control_shows_a_focus_ring(browser, live_server, portal_demo):
    page = browser.new_context(locale="nl-NL").new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/returns/demo/")
    missing = {"lookup": controls_without_a_ring(page)}
    find_order(page)
    page.wait_for_url("**/items")
    missing["items"] = controls_without_a_ring(page)
    page.context.close()
    assert {step: found for step, found in missing.items() if found} == {}
