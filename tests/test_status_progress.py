"""The status page opens with where the return is: requested → approved → label → on its way →
received → settled in the words of the resolution; on a phone it stays on one line.

And customer pages take the shop's colour for buttons, checkboxes and focus rings only where
it reads (WCAG contrast 4.5:1), else a dark shade.
"""

from __future__ import annotations

import pytest

from domain import colours, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from return_flow import create_label

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

PARCEL_STEPS = ["Request sent", "Approved", "Label made", "On its way", "Received"]


def tracker(client, request, language: str = "en") -> list[tuple[str, str]]:
    """The tracker's steps as (words, state): done, current or todo."""
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    html = client.get(path).get_data(as_text=True)
    if 'id="progress"' not in html:
        return []
    listed = html.split('id="progress"', 1)[1].split("</ol>", 1)[0]
    steps = []
    for item in listed.split("<li ")[1:]:
        state = item.split('class="status-progress-', 1)[1].split('"', 1)[0]
        steps.append((visible("<li " + item).strip().removesuffix(" (done)"), state))
    return steps


def states(steps: list[tuple[str, str]]) -> list[str]:
    return [state for _, state in steps]


def received(return_) -> dict:
    return {line.id: ("ok", line.quantity) for line in return_.request.lines}


def test_the_tracker_follows_the_request_and_its_parcel(client, shop, agent):
    request = make_request(shop, language="en")
    db.session.commit()
    asked = tracker(client, request)
    workflow.approve(request, agent)
    db.session.commit()
    approved = tracker(client, request)
    return_ = create_label(request)
    labelled = tracker(client, request)
    workflow.mark_in_transit(return_, agent)
    db.session.commit()
    on_its_way = tracker(client, request)
    workflow.receive(return_, agent, received(return_))
    db.session.commit()
    checked = tracker(client, request)
    workflow.resolve(return_, agent, "refund")
    db.session.commit()
    refunded = tracker(client, request)

    assert [words for words, _ in asked] == [*PARCEL_STEPS, "Refunded"]
    assert states(asked) == ["current"] + ["todo"] * 5
    assert states(approved) == ["done", "current"] + ["todo"] * 4
    assert states(labelled) == ["done"] * 2 + ["current"] + ["todo"] * 3
    assert states(on_its_way) == ["done"] * 3 + ["current"] + ["todo"] * 2
    assert states(checked) == ["done"] * 4 + ["current", "todo"]
    assert states(refunded) == ["done"] * 6


def test_the_last_step_says_the_resolution_in_dutch_too(client, shop, agent):
    exchange = make_request(shop, language="nl", resolution="exchange")
    credit = make_request(shop, language="nl", resolution="store_credit")
    db.session.commit()

    assert tracker(client, exchange)[-1] == ("Exchanged", "todo")
    assert tracker(client, credit, "nl")[-1] == ("Tegoed gegeven", "todo")
    assert [words for words, _ in tracker(client, exchange, "nl")] == [
        "Aanvraag verstuurd",
        "Goedgekeurd",
        "Label gemaakt",
        "Onderweg",
        "Ontvangen",
        "Omgeruild",
    ]


def test_kept_items_skip_the_parcel_and_a_cancelled_request_has_no_tracker(client, shop, agent):
    kept = make_request(shop, language="en")
    workflow.approve(kept, agent, keep_items=True)
    cancelled = make_request(shop, language="en")
    workflow.cancel(cancelled, agent, "Bought more than 30 days ago")
    db.session.commit()

    assert tracker(client, kept) == [
        ("Request sent", "done"),
        ("Approved", "current"),
        ("Refunded", "todo"),
    ]
    assert tracker(client, cancelled) == []


@pytest.mark.parametrize(
    ("colour", "safe"),
    [("#8b0000", "#8b0000"), ("#ffd700", colours.SAFE_DARK), ("#0b5ed7", "#0b5ed7")],
)
def test_the_shops_colour_is_used_where_it_reads_else_a_dark_shade(client, shop, colour, safe):
    shop.brand_color = colour
    db.session.commit()

    page = client.get(f"/returns/{shop.slug}/").get_data(as_text=True)

    assert f"--brand-safe: {safe};" in page


@pytest.mark.browser
def test_on_a_phone_the_tracker_and_the_step_bar_stay_on_one_line(browser, live_server, shop):
    request = make_request(shop, language="nl", resolution="store_credit")
    db.session.commit()
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/returns/{shop.slug}/status/{request.public_token}")
        tops = page.locator("#progress li").evaluate_all(
            "items => items.map(item => item.getBoundingClientRect().top)"
        )
        page.goto(f"{live_server.url}/returns/{shop.slug}/")
        width = page.evaluate("document.documentElement.scrollWidth")
    finally:
        context.close()

    assert len(tops) == 6 and len(set(tops)) == 1
    assert width <= 390
