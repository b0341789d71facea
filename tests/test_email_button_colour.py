"""The buttons in the customer's emails are white on the shop's colour only where that reads
(WCAG 4.5:1, as on the portal); on a light colour they take the dark shade, while the stripe
along the top keeps the shop's own colour."""

from __future__ import annotations

import re

import pytest

from domain import colours, workflow
from extensions import db
from factories import make_request


@pytest.mark.parametrize(
    ("colour", "button"), [("#ffd700", colours.SAFE_DARK), ("#8b0000", "#8b0000")]
)
def test_the_approval_emails_button_reads(app, shop, agent, smtp_sink, colour, button):
    shop.brand_color = colour
    request = make_request(shop, language="en")
    workflow.approve(request, agent)
    db.session.commit()

    (email,) = smtp_sink.to(request.customer_email)
    html = email.get_body(("html",)).get_content()
    label_button = re.search(
        r'<a [^>]*style="background: (#[0-9a-f]{6}); color: #fff;[^>]*>Create your return label',
        html,
    )
    assert label_button is not None and label_button.group(1) == button
    assert f"border-top: 6px solid {colour}" in html
