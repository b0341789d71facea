"""The dashboard in a real browser (Debian Chromium via Playwright): charts drawn, tables there."""

import pytest
from playwright.sync_api import expect

from browser_helpers import log_in
from domain import workflow
from extensions import db
from factories import make_reason, make_request, make_shop, make_user


def chart_drawn(page, key: str) -> dict:
    return page.evaluate(
        """key => {
            const canvas = document.getElementById('chart-' + key);
            return {width: canvas.width, height: canvas.height,
                    chart: Chart.getChart(canvas) !== undefined};
        }""",
        key,
    )


@pytest.mark.browser
def test_owner_opens_the_dashboard_and_sees_charts_drawn_and_the_numbers_as_tables(
    page, live_server
):
    shop = make_shop()
    owner = make_user("owner@example.com", shop, role="admin")
    reason = make_reason(shop)
    for n in range(3):
        request = make_request(shop)
        request.lines[0].reason = reason
        if n:
            workflow.approve(request, owner)
    db.session.commit()

    log_in(page, live_server.url, "owner@example.com")

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for key in ("trend", "reasons", "resolutions"):
        drawn = chart_drawn(page, key)
        assert drawn["chart"], key
        assert drawn["width"] > 0 and drawn["height"] > 0, key
    trend = page.locator("#trend-table")
    expect(trend.get_by_role("columnheader", name="Approvals")).to_be_visible()
    expect(trend.locator("tbody tr").last).to_contain_text("3")
    expect(page.locator("#reasons-table")).to_contain_text("Too small")

    page.get_by_label("Period").select_option("7")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=7**")
    assert chart_drawn(page, "trend")["chart"]
