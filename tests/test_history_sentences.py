"""A request's and a return's history read as sentences in the viewer's language ("Anna approved
the request"), never as the audit trail's codes (``notice_raised``, ``return_created … — own``)."""

from __future__ import annotations

import html
import re

import pytest
from flask_babel import force_locale

from domain import notices, statuses, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_shop, make_user
from models import Return
from return_flow import create_label

# The audit actions and status codes this request's history holds (those that are not also
# English words), and the carrier's code.
CODES = (
    "notice_raised",
    "return_created",
    "label_ready",
    "label_created",
    "on_hold",
    "— own",
    "(own)",
)

SENTENCES = {
    "en": (
        f"A notice was raised by rule '{notices.FREE_EXCHANGE_RULE}' when the request was "
        "submitted.",
        "Anna put the request on hold (New → On hold).",
        "Anna approved the request (On hold → Approved).",
        "The customer created a return label (Own label).",
        "The return label was made: ",
    ),
    "nl": (
        f"Er werd een melding gegeven door rule '{notices.FREE_EXCHANGE_RULE}' toen de aanvraag "
        "werd ingediend.",
        "Anna hield de aanvraag vast (Nieuw → Vastgehouden).",
        "Anna keurde de aanvraag goed (Vastgehouden → Goedgekeurd).",
        "De klant maakte een retourlabel aan (Eigen label).",
        "Het retourlabel is gemaakt: ",
    ),
}


@pytest.fixture
def labelled(app) -> Return:
    """A free exchange (a rule raises a notice), held, approved, and its label made."""
    shop = make_shop(**RETURN_ADDRESS)
    notices.seed_default_rules(shop)
    anna = make_user("anna@example.com", shop, name="Anna")
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    workflow.hold(request, anna)
    workflow.approve(request, anna)
    db.session.commit()
    return create_label(request)


def history_of(page: str) -> list[str]:
    section = re.search(r'<ol class="list-unstyled" id="timeline">(.*?)</ol>', page, re.S)
    items = re.findall(r"<li>(.*?)</li>", section.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("page", ["request", "return"])
def test_the_history_tells_each_event_as_a_sentence(client, auth, labelled, language, page):
    labelled.request.shop.memberships[0].user.language = language
    db.session.commit()
    auth.login("anna@example.com")
    url = (
        f"/admin/requests/{labelled.request_id}"
        if page == "request"
        else f"/admin/returns/{labelled.id}"
    )

    history = history_of(client.get(url).get_data(as_text=True))
    text = "\n".join(history)

    expected = SENTENCES[language] if page == "request" else SENTENCES[language][3:]
    for sentence in expected:
        assert sentence in text
    for code in CODES:
        assert code not in text, code
    assert all(re.search(r"(\.|: \S+)$", line) for line in history), history


def test_every_audit_action_has_a_sentence_in_english_and_dutch(app):
    assert set(statuses.AUDIT_SENTENCES) == set(statuses.AUDIT_LABELS)
    for action, sentence in statuses.AUDIT_SENTENCES.items():
        with force_locale("en"):
            english = str(sentence) % {"who": "Anna"}
        with force_locale("nl"):
            dutch = str(sentence) % {"who": "Anna"}
        assert english != dutch, action
