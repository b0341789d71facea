"""On a phone the tracker names the step the return is at, on one line: no word of it is broken
in the middle ("Goedgek|eurd"); the other steps are still read out to screen readers."""

from __future__ import annotations

import pytest

from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request

pytestmark = [pytest.mark.shop(**RETURN_ADDRESS), pytest.mark.browser]


def test_the_current_step_is_named_whole_on_a_phone(browser, live_server, shop, agent):
    request = make_request(shop, language="nl")
    workflow.approve(request, agent)
    db.session.commit()
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/returns/{shop.slug}/status/{request.public_token}")
        current = page.locator("#progress li[aria-current=step] .status-progress-label")
        named, lines = (
            current.inner_text(),
            current.evaluate("label => label.getClientRects().length"),
        )
        others = page.locator("#progress li:not([aria-current]) .status-progress-label")
        widths = others.evaluate_all("labels => labels.map(l => l.getBoundingClientRect().width)")
        read_out = page.get_by_role("list", name="Voortgang van je retour").inner_text()
    finally:
        context.close()

    assert (named, lines) == ("Goedgekeurd", 1)
    assert widths and max(widths) <= 1
    assert "Label gemaakt" in read_out
