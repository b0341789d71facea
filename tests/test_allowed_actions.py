"""One rule book: ``workflow.allowed_actions`` says what a user may do to a request now; the
request page, the list's rows and the API offer exactly that, and the workflow refuses the rest.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from domain import audit, workflow
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    LABEL_CREATED,
    NEW,
    ON_HOLD,
    ApiKey,
    Return,
    ReturnRequest,
    ReviewStage,
    utcnow,
)
from query_counting import counted_queries
from web.admin.requests import BULK_ACTIONS
from web.api import http, openapi, schemas

ROW_BUTTONS = {"release", "hold", "approve", "cancel"}
PLAIN = {"status": NEW}
# (case name, how the request is made): every status, a hold by me, by a colleague (fresh
# and stale), and the facts beyond the status (a return label, every item rejected, free
# shipping already on).
CASES = {
    "new": PLAIN,
    "concept": {"status": CONCEPT},
    "held by me": {"status": ON_HOLD, "holder": "me"},
    "held by a colleague": {"status": ON_HOLD, "holder": "colleague"},
    "held by a colleague, stale": {"status": ON_HOLD, "holder": "colleague", "stale": True},
    "approved": {"status": APPROVED},
    "approved with a label": {"status": APPROVED, "label": True},
    "cancelled": {"status": CANCELLED},
    "label created": {"status": LABEL_CREATED, "label": True},
    "completed": {"status": COMPLETED},
    "every item rejected": {"status": NEW, "rejected": True},
    "free shipping on": {"status": NEW, "free_shipping": True},
}


@pytest.fixture
def shop(app):
    shop = make_shop()
    db.session.add(ReviewStage(shop=shop, name_nl="Foto's", name_en="Photos"))
    return shop


@pytest.fixture
def people(shop):
    return {
        "agent": make_user("agent@example.com", shop, name="Agent"),
        "admin": make_user("admin@example.com", shop, role="admin", name="Admin"),
        "colleague": make_user("bram@example.com", shop, name="Bram"),
    }


def request_in(shop, me, colleague, case: dict) -> ReturnRequest:
    """A stored request as ``case`` describes it (test data, not a transition)."""
    holder = {"me": me, "colleague": colleague}.get(case.get("holder"))
    held_since = utcnow() - timedelta(days=30 if case.get("stale") else 0)
    request = make_request(
        shop,
        status=case["status"],
        order=make_order(shop, lines=1),
        held_by=holder,
        held_since=held_since if holder else None,
        status_before_hold=NEW if holder else None,
        free_shipping=case.get("free_shipping", False),
    )
    if case.get("label"):
        db.session.add(Return(number=f"RT-{request.id}", shop=shop, request=request, carrier="own"))
    if case.get("rejected"):
        for line in request.lines:
            line.decision, line.decision_reason = "rejected", "Worn"
    db.session.flush()
    return request


class OfferedActions(HTMLParser):
    """The actions a request page offers: its forms that post to the request's ``act`` (by
    their ``action`` field) and the message form."""

    def __init__(self, request_id: int) -> None:
        super().__init__()
        self.act_url = f"/admin/requests/{request_id}/act"
        self.message_url = f"/admin/requests/{request_id}/message"
        self.form_url: str | None = None
        self.offered: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form_url = attrs.get("action")
            if self.form_url == self.message_url:
                self.offered.add("message")
        elif tag == "input" and attrs.get("name") == "action" and self.form_url == self.act_url:
            self.offered.add(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.form_url = None


def offered_on_page(client, request_id: int) -> set[str]:
    page = client.get(f"/admin/requests/{request_id}")
    assert page.status_code == 200
    parser = OfferedActions(request_id)
    parser.feed(page.get_data(as_text=True))
    return parser.offered


def post_action(client, request: ReturnRequest, action: str, stage_id: int):
    """Click ``action`` as the page would post it, with what its form asks for."""
    if action == "message":
        data = {"body": "Could you send a photo?", "kind": "customer"}
        return client.post(f"/admin/requests/{request.id}/message", data=data)
    data = {"action": action, "version": request.version}
    data |= {
        "cancel": {"reason": "Outside the return window"},
        "stage": {"stage_id": stage_id},
        "decide_line": {"line_id": request.lines[0].id, "decision": "approved"},
    }.get(action, {})
    return client.post(f"/admin/requests/{request.id}/act", data=data)


def flashed(client) -> set[str]:
    """The kinds of message (success, danger...) the next page shows after a click."""
    with client.session_transaction() as session:
        return {category for category, _message in session.pop("_flashes", [])}


def state_of(request_id: int) -> tuple:
    db.session.expire_all()
    request = db.session.get(ReturnRequest, request_id)
    return (
        request.status,
        request.version,
        request.held_by_id,
        request.free_shipping,
        request.public_token,
        request.stage_id,
        len(request.messages),
    )


@pytest.mark.parametrize("role", ["agent", "admin"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_the_page_offers_what_the_workflow_allows_and_the_workflow_does_what_it_offers(
    client, auth, shop, people, role, case_name
):
    me, colleague = people[role], people["colleague"]
    stage_id = db.session.scalar(select(ReviewStage.id))
    shown = request_in(shop, me, colleague, CASES[case_name])
    # One request per action, so each is tried on the situation the page was drawn for.
    tries = {
        action: request_in(shop, me, colleague, CASES[case_name])
        for action in workflow.ACTION_RULES
    }
    db.session.commit()
    allowed = workflow.allowed_actions(shown, me)
    auth.login(me.email)

    assert offered_on_page(client, shown.id) == allowed

    for action, request in tries.items():
        before = state_of(request.id)
        assert post_action(client, request, action, stage_id).status_code == 302
        said = flashed(client)
        if action in allowed:
            assert said == {"success"}, f"{action} was offered but refused"
            assert state_of(request.id) != before, f"{action} was offered but changed nothing"
        else:
            assert said == {"danger"}, f"{action} was not offered but not refused"
            assert state_of(request.id) == before, f"{action} was not offered but done"


def test_what_each_user_is_offered(shop, people):
    agent, admin, colleague = people["agent"], people["admin"], people["colleague"]
    fresh = {name: request_in(shop, agent, colleague, case) for name, case in CASES.items()}
    everywhere = {"renew_link", "message"}
    free_hand = {"concept", "approve", "approve_keep", "cancel", "stage", "decide_line"}

    assert workflow.allowed_actions(fresh["new"], agent) == everywhere | free_hand | {
        "hold",
        "free_shipping_on",
    }
    assert workflow.allowed_actions(fresh["concept"], agent) == everywhere | free_hand - {
        "concept"
    } | {"hold", "back_to_new", "free_shipping_on"}
    assert workflow.allowed_actions(fresh["held by a colleague"], agent) == everywhere
    assert workflow.allowed_actions(fresh["held by a colleague"], admin) == everywhere | {
        "take_over"
    }
    assert "take_over" in workflow.allowed_actions(fresh["held by a colleague, stale"], agent)
    assert workflow.allowed_actions(fresh["approved"], agent) == everywhere | {
        "cancel",
        "free_shipping_on",
    }
    assert workflow.allowed_actions(fresh["approved with a label"], agent) == everywhere
    assert workflow.allowed_actions(fresh["cancelled"], agent) == everywhere
    assert workflow.allowed_actions(fresh["cancelled"], admin) == everywhere | {"reopen"}
    assert not {"approve", "approve_keep"} & workflow.allowed_actions(
        fresh["every item rejected"], agent
    )
    assert "free_shipping_off" in workflow.allowed_actions(fresh["free shipping on"], agent)


def test_an_agent_cannot_reopen_a_cancelled_request_by_putting_it_back_to_new(shop, people):
    request = request_in(shop, people["agent"], None, CASES["cancelled"])
    db.session.commit()
    with pytest.raises(workflow.TransitionRefused):
        workflow.set_new(request, people["agent"])
    db.session.rollback()
    assert db.session.get(ReturnRequest, request.id).status == CANCELLED


def test_every_action_is_one_the_state_machine_allows():
    assert set(workflow.ACTION_RULES) == set(workflow.ACTION_SOURCES)
    for action, target in workflow.ACTION_TARGETS.items():
        for source in workflow.ACTION_SOURCES[action]:
            assert (source, target) in workflow.TRANSITIONS, (action, source)
    for action, sources in workflow.BULK_SOURCES.items():
        assert set(sources) <= set(workflow.ACTION_SOURCES[action]), action


# --- The list --------------------------------------------------------------------------


def row_buttons(listing: str, request: ReturnRequest) -> set[str]:
    """The buttons in the request's row: its forms' actions, and the cancel link."""
    row = re.search(rf'value="{request.id}" title="Select {request.number}".*?</tr>', listing, re.S)
    cells = row.group(0).split('class="col-number"')[0]
    buttons = set(re.findall(r'name="action" value="(\w+)"', cells))
    if re.search(rf'/admin/requests/{request.id}(\?[^"#]*)?#cancel', cells):
        buttons.add("cancel")
    return buttons


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_each_row_of_the_list_offers_what_the_workflow_allows(client, auth, shop, people, role):
    me, colleague = people[role], people["colleague"]
    requests = [request_in(shop, me, colleague, case) for case in CASES.values()]
    db.session.commit()
    auth.login(me.email)
    listing = client.get("/admin/requests/?all=1").get_data(as_text=True)
    for request in requests:
        expected = workflow.allowed_actions(request, me) & ROW_BUTTONS
        assert row_buttons(listing, request) == expected, request.status


def count_queries(client, url: str) -> int:
    with counted_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_lists_buttons_take_no_query_per_row(client, auth, shop, people):
    me, colleague = people["agent"], people["colleague"]
    for case in CASES.values():
        request_in(shop, me, colleague, case)
    db.session.commit()
    auth.login(me.email)
    few = count_queries(client, "/admin/requests/?all=1")
    for _ in range(3):
        for case in CASES.values():
            request_in(shop, me, colleague, case)
    db.session.commit()
    assert count_queries(client, "/admin/requests/?all=1") == few


# --- The bulk actions ------------------------------------------------------------------


def test_the_with_selected_menu_names_each_bulk_action_and_each_leads_to_its_confirmation(
    client, auth, shop, people
):
    request = request_in(shop, people["agent"], None, PLAIN)
    db.session.commit()
    auth.login("agent@example.com")
    listing = client.get("/admin/requests/?all=1").get_data(as_text=True)
    menu = set(re.findall(r'data-model-action="(\w+)"', listing))
    assert menu == set(BULK_ACTIONS) == set(workflow.BULK_SOURCES)
    assert menu <= set(workflow.ACTION_RULES)
    for name in sorted(menu):
        ticked = client.post(
            "/admin/requests/action/",
            data={"action": name, "rowid": [request.id], "url": "/admin/requests/"},
        )
        confirm = client.get(ticked.headers["Location"]).get_data(as_text=True)
        assert "This applies to 1 request." in confirm, name
        assert f'<option value="{name}" selected>' in confirm, name


# --- The API ---------------------------------------------------------------------------


def api_key(shop) -> str:
    key, prefix, key_hash = http.new_key()
    db.session.add(ApiKey(shop=shop, name="webshop", prefix=prefix, key_hash=key_hash))
    return key


def api_post(client, key: str, number: str, action: str):
    body = {"action": action} | ({"reason": "Worn"} if action == "cancel" else {})
    return client.post(
        f"/api/v1/return-requests/{number}/actions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.mark.parametrize("case_name", list(CASES))
def test_the_api_lists_the_actions_a_key_may_post_and_refuses_the_others(
    client, shop, people, case_name
):
    key = api_key(shop)
    case = CASES[case_name]
    shown = request_in(shop, people["agent"], people["colleague"], case)
    api_actions = schemas.RequestAction.__args__
    tries = {
        action: request_in(shop, people["agent"], people["colleague"], case)
        for action in api_actions
    }
    db.session.commit()
    listed = client.get(
        f"/api/v1/return-requests/{shown.number}", headers={"Authorization": f"Bearer {key}"}
    ).json["allowed_actions"]
    key_actor = audit.Actor(label="API key 'webshop'")
    assert set(listed) == workflow.allowed_actions(shown, key_actor) & set(api_actions)
    for action, request in tries.items():
        answer = api_post(client, key, request.number, action)
        if action in listed:
            assert answer.status_code == 200, (action, answer.json)
        else:
            assert answer.status_code == 409, (action, answer.json)


def test_the_api_list_of_requests_shows_each_ones_actions_and_the_document_says_so(
    client, shop, people
):
    key = api_key(shop)
    fresh = request_in(shop, people["agent"], None, PLAIN)
    held = request_in(shop, people["agent"], None, CASES["held by me"])
    db.session.commit()
    page = client.get("/api/v1/return-requests", headers={"Authorization": f"Bearer {key}"})
    actions = {row["number"]: row["allowed_actions"] for row in page.json["data"]}
    assert actions == {fresh.number: ["concept", "approve", "cancel"], held.number: []}
    schema = openapi.openapi_document()["components"]["schemas"]["RequestOut"]
    assert "allowed_actions" in schema["required"]
    assert "409" in schema["properties"]["allowed_actions"]["description"]
