"""Support builds a notice rule row by row: "When [condition] [value], and …", each row added
and removed on its own, reasons chosen by their words, and the dry run beside the rule. Without
JavaScript the "Add condition" and "Remove" buttons send the form back with the row shown or
gone, keeping what was typed and saving nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from browser_helpers import log_in
from extensions import db
from factories import make_order, make_reasons, make_request
from harness import visible
from models import NoticeRule

NEW_RULE = "/admin/rules/new/"


def shown_rows(html: str) -> list[str]:
    """The kinds of the condition rows on the page that are not hidden."""
    rows = re.findall(r'<div class="rule-row[^"]*" data-kind="(\w+)" id="row-\w+"( hidden)?>', html)
    return [kind for kind, hidden in rows if not hidden]


def rule_count() -> int:
    return db.session.scalar(select(func.count(NoticeRule.id)))


@pytest.fixture
def damaged_and_too_big(shop):
    """Three requests of the shop: two with a damaged item, one too big (two items)."""
    reasons = make_reasons(shop)
    for reason, quantity in (("damaged", 1), ("damaged", 1), ("too_big", 2)):
        order = make_order(shop, lines=1)
        make_request(shop, order, lines=[{"reason": reasons[reason], "quantity": quantity}])
    db.session.commit()
    return reasons


def test_without_javascript_rows_are_added_and_removed_and_nothing_is_saved(
    client, auth, shop, support, damaged_and_too_big
):
    auth.login(support.email)
    empty = client.get(NEW_RULE).get_data(as_text=True)
    assert shown_rows(empty) == []
    assert "When all of these hold" in empty

    added = client.post(
        NEW_RULE,
        data={
            "shop_id": str(shop.id),
            "name": "Schade",
            "builder": "add",
            "add_condition": "reason_in",
        },
    ).get_data(as_text=True)
    assert shown_rows(added) == ["reason_in"]
    assert 'value="Schade"' in added
    assert ">Damaged</option>" in added and ">Too big</option>" in added  # words, not codes

    second = client.post(
        NEW_RULE,
        data={
            "shop_id": str(shop.id),
            "cond_reason_in": "y",
            "cond_reason_in__codes": "damaged",
            "builder": "add",
            "add_condition": "more_items_than",
        },
    ).get_data(as_text=True)
    assert shown_rows(second) == ["reason_in", "more_items_than"]
    removed = client.post(
        NEW_RULE,
        data={
            "shop_id": str(shop.id),
            "cond_reason_in": "y",
            "cond_reason_in__codes": "damaged",
            "cond_more_items_than": "y",
            "remove_condition": "reason_in",
        },
    ).get_data(as_text=True)
    assert shown_rows(removed) == ["more_items_than"]
    assert rule_count() == 0


def test_the_dry_run_needs_only_the_conditions(client, auth, shop, support, damaged_and_too_big):
    auth.login(support.email)
    page = client.post(
        NEW_RULE,
        data={
            "shop_id": str(shop.id),
            "cond_reason_in": "y",
            "cond_reason_in__codes": "damaged",
            "dry_run": "1",
        },
    ).get_data(as_text=True)
    assert "2 of the last 100 requests would get this notice." in visible(page)
    assert rule_count() == 0


@pytest.mark.browser
def test_support_builds_a_rule_row_by_row_with_the_dry_run_beside_it(
    browser, live_server, shop, support, damaged_and_too_big
):
    page = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, support.email)
    page.goto(live_server.url + NEW_RULE)
    page.get_by_label("Shop", exact=True).select_option(label=shop.name)
    dry_run = page.locator("#dry-run-panel")

    page.get_by_label("And when").select_option(label="More items than")
    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_label("Number of items")).to_be_focused()
    page.get_by_label("Number of items").fill("1")
    expect(dry_run).to_contain_text("1 of the last 100 requests would get this notice.")

    page.get_by_label("And when").select_option(label="Return reason is one of")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Reasons").select_option(label="Damaged")
    expect(dry_run).to_contain_text("0 of the last 100 requests would get this notice.")
    page.get_by_role("button", name="Remove: More items than").click()
    expect(page.locator("#row-more_items_than")).to_be_hidden()
    expect(dry_run).to_contain_text("2 of the last 100 requests would get this notice.")
    assert rule_count() == 0

    page.get_by_label("Name").fill("Damaged: check the photos")
    page.get_by_label("Message (Dutch)").fill("Beschadigd: bekijk de foto's.")
    page.get_by_label("Message (English)").fill("Damaged: look at the photos.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/rules/**")

    db.session.expire_all()
    rule = db.session.scalar(select(NoticeRule))
    assert rule.conditions == [{"kind": "reason_in", "codes": ["damaged"]}]
