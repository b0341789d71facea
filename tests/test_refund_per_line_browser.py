"""Staff choose a line's refund in Chromium by its labels, without JavaScript of their own,
and the customer's status page shows the amount and the note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_helpers import log_in
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_reasons
from return_flow import approved_request, create_label

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)


@pytest.mark.browser
def test_staff_choose_a_partial_refund_by_its_labels_and_the_customer_reads_it(
    page, live_server, shop, agent
):
    reasons = make_reasons(shop)
    request = approved_request(
        shop, agent, lines=[{"order_line": 0, "quantity": 1, "reason": reasons["too_big"]}]
    )
    return_ = create_label(request)
    workflow.mark_delivered(return_, agent)
    db.session.commit()
    base = live_server.url

    log_in(page, base, agent.email)
    page.goto(f"{base}/admin/returns/{return_.id}")
    page.get_by_label("Condition of Linnen blouse").select_option("damaged")
    page.get_by_label("Refund for Linnen blouse").select_option("partial")
    page.get_by_label("Partial refund of Linnen blouse (amount)").fill("15,00")
    page.get_by_label("Note to the customer about Linnen blouse").fill("Worn once.")
    page.get_by_role("button", name="Mark received").click()
    expect(page.locator("#refund-" + str(request.lines[0].id))).to_contain_text(
        "Partial refund €15.00"
    )

    page.goto(f"{base}/returns/{shop.slug}/status/{request.public_token}?lang=en")
    settlement = page.locator("#settlement")
    expect(settlement).to_contain_text("Worn once.")
    expect(settlement).to_contain_text("Expected refund: €9.05")  # 15.00 - 5.95 fee
