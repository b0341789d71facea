"""The Requests list, its row and bulk actions, live updates, and the request page."""

from sqlalchemy import func, select

from domain import workflow
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, CANCELLED, CONCEPT, NEW, ON_HOLD, Notice, ReturnRequest, ReviewStage


def statuses():
    return dict(
        db.session.execute(
            select(ReturnRequest.status, func.count()).group_by(ReturnRequest.status)
        ).all()
    )


def test_list_opens_on_open_requests_of_own_shop_only(client, auth, shop, anna):
    mine = make_request(shop)
    done = make_request(shop, status=APPROVED)
    theirs = make_request(make_shop("fashion", "Mode Huis"))
    db.session.commit()
    auth.login("anna@example.com")
    response = client.get("/admin/requests/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert mine.number in page
    assert done.number not in page
    assert theirs.number not in page
    everything = client.get("/admin/requests/?all=1").get_data(as_text=True)
    assert done.number in everything and theirs.number not in everything


def test_search_finds_by_email_order_number_and_name(client, auth, shop, anna):
    request = make_request(
        shop,
        order=make_order(
            shop, customer_email="joris@example.be", number="WEB-77", customer_name="Joris Peeters"
        ),
    )
    other = make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    for term in ("joris@example.be", "WEB-77", "Peeters", request.number):
        page = client.get("/admin/requests/", query_string={"all": 1, "search": term}).get_data(
            as_text=True
        )
        assert request.number in page and other.number not in page, term


def test_row_actions_hold_and_approve_and_a_colleague_is_refused(
    client, auth, shop, anna, smtp_sink
):
    make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    client.post(f"/admin/requests/{request.id}/act", data={"action": "hold"})
    db.session.refresh(request)
    assert request.status == ON_HOLD
    listing = client.get("/admin/requests/", follow_redirects=True).get_data(as_text=True)
    assert "Anna" in listing
    assert f'title="Select {request.number}"' in listing, "a screen reader names the row"
    assert f'aria-label="Release {request.number}"' in listing
    auth.logout()
    auth.login("bram@example.com")
    response = client.post(
        f"/admin/requests/{request.id}/act", data={"action": "approve"}, follow_redirects=True
    )
    assert "Held by Anna" in response.get_data(as_text=True)
    db.session.refresh(request)
    assert request.status == ON_HOLD
    assert smtp_sink.messages == []


def test_approving_what_a_colleague_just_approved_says_who(client, auth, shop, anna):
    make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop)
    db.session.commit()
    seen_version = request.version
    workflow.approve(request, anna)
    db.session.commit()
    auth.login("bram@example.com")
    response = client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "approve", "version": seen_version},
        follow_redirects=True,
    )
    assert "Already approved by Anna" in response.get_data(as_text=True)


def test_request_page_shows_lines_notices_and_history_and_cancel_needs_reason(
    client, auth, shop, anna, smtp_sink
):
    request = make_request(shop)
    db.session.add(
        Notice(
            request=request,
            severity="warning",
            text_nl="Let op",
            text_en="Customer chose a free exchange",
        )
    )
    db.session.commit()
    auth.login("anna@example.com")
    page = client.get(f"/admin/requests/{request.id}").get_data(as_text=True)
    assert "Customer chose a free exchange" in page and "alert-warning" in page
    assert "Linnen blouse" in page
    response = client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "cancel", "reason": ""},
        follow_redirects=True,
    )
    assert "Type the reason" in response.get_data(as_text=True)
    client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "cancel", "reason": "Outside the return window"},
    )
    db.session.refresh(request)
    assert request.status == CANCELLED
    page = client.get(f"/admin/requests/{request.id}").get_data(as_text=True)
    assert "Outside the return window" in page
    assert len(smtp_sink.messages) == 1


def test_free_shipping_toggle_and_line_rejection_from_the_page(client, auth, shop, anna):
    request = make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    client.post(f"/admin/requests/{request.id}/act", data={"action": "free_shipping_on"})
    line = request.lines[0]
    client.post(
        f"/admin/requests/{request.id}/act",
        data={
            "action": "decide_line",
            "line_id": line.id,
            "decision": "rejected",
            "reason": "Worn",
        },
    )
    db.session.refresh(request)
    db.session.refresh(line)
    assert request.free_shipping is True
    assert (line.decision, line.decision_reason) == ("rejected", "Worn")


def test_select_all_matching_sets_every_page_to_concept_then_approves_all_concept(
    client, auth, shop, anna, smtp_sink
):
    order = make_order(shop, lines=1)
    for _ in range(60):
        make_request(shop, order=order)
    make_request(shop, status=APPROVED, order=order)
    db.session.commit()
    auth.login("anna@example.com")
    listing = client.get("/admin/requests/?flt0_status=new").get_data(as_text=True)
    assert "Select all 60 requests matching this filter" in listing
    confirm = client.get(
        "/admin/requests/bulk?scope=filter&flt0_status=new&action=concept"
    ).get_data(as_text=True)
    assert "This applies to 60 requests." in confirm
    response = client.post(
        "/admin/requests/bulk?scope=filter&flt0_status=new",
        data={"action": "concept"},
        follow_redirects=True,
    )
    assert "60 set to concept" in response.get_data(as_text=True)
    response = client.post(
        "/admin/requests/bulk?scope=filter&flt0_status=concept",
        data={"action": "approve"},
        follow_redirects=True,
    )
    assert "60 approved" in response.get_data(as_text=True)
    assert statuses() == {APPROVED: 61}
    assert len(smtp_sink.messages) == 60


def test_ticked_rows_go_through_the_confirmation_page(client, auth, shop, anna):
    requests = [make_request(shop) for _ in range(3)]
    db.session.commit()
    auth.login("anna@example.com")
    response = client.post(
        "/admin/requests/action/",
        data={
            "action": "concept",
            "rowid": [requests[0].id, requests[1].id],
            "url": "/admin/requests/?flt0_status=new",
        },
    )
    assert "/admin/requests/bulk" in response.headers["Location"]
    confirm = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This applies to 2 requests." in confirm
    client.post(response.headers["Location"], data={"action": "concept"})
    assert statuses() == {CONCEPT: 2, NEW: 1}


def test_large_selection_runs_as_a_job_with_progress(client, auth, shop, anna, monkeypatch):
    monkeypatch.setattr(workflow, "BULK_INLINE_LIMIT", 5)
    order = make_order(shop, lines=1)
    for _ in range(8):
        make_request(shop, order=order)
    db.session.commit()
    auth.login("anna@example.com")
    response = client.post(
        "/admin/requests/bulk?scope=filter&flt0_status=new", data={"action": "concept"}
    )
    assert "/admin/requests/bulk/" in response.headers["Location"]
    progress = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "8 / 8" in progress and "8 set to concept" in progress
    assert statuses() == {CONCEPT: 8}


def test_changes_endpoint_reports_rows_a_colleague_changed(client, auth, shop, anna):
    bram = make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop)
    untouched = make_request(shop)
    db.session.commit()
    auth.login("anna@example.com")
    ids, listed = f"{request.id},{untouched.id}", "flt0_status=open"
    first = client.get("/admin/requests/changes", query_string={"ids": ids, "list": listed})
    before = first.get_json()["rows"][str(request.id)]["actions"]
    assert 'value="approve"' in before and 'value="hold"' in before
    assert 'name="next" value="/admin/requests/?flt0_status=open"' in before
    workflow.hold(request, bram)
    db.session.commit()
    data = client.get(
        "/admin/requests/changes",
        query_string={"ids": ids, "since": first.get_json()["since"], "list": listed},
    ).get_json()
    assert list(data["rows"]) == [str(request.id)]
    assert data["rows"][str(request.id)]["held_by"] == "Bram"
    assert "On hold" in data["rows"][str(request.id)]["status"]
    now = data["rows"][str(request.id)]["actions"]
    assert 'value="approve"' not in now and 'value="hold"' not in now, "Bram holds it"


def test_other_shops_staff_get_404_for_page_actions_and_changes(client, auth, shop):
    request = make_request(shop)
    make_user("agent@fashion.example.com", make_shop("fashion", "Mode Huis"))
    db.session.commit()
    auth.login("agent@fashion.example.com")
    assert client.get(f"/admin/requests/{request.id}").status_code == 404
    assert (
        client.post(f"/admin/requests/{request.id}/act", data={"action": "approve"}).status_code
        == 404
    )
    assert (
        client.get("/admin/requests/changes", query_string={"ids": request.id}).get_json()["rows"]
        == {}
    )
    client.post(f"/admin/requests/bulk?ids={request.id}", data={"action": "approve"})
    db.session.refresh(request)
    assert request.status == NEW


def test_shop_admin_adds_a_review_stage_that_filters_and_bulk_moves_use(client, auth, shop, anna):
    make_user("boss@example.com", shop, role="admin")
    requests = [make_request(shop) for _ in range(2)]
    db.session.commit()
    auth.login("boss@example.com")
    client.post(
        "/admin/stages/new/",
        data={
            "shop": shop.id,
            "name_nl": "Wacht op magazijn",
            "name_en": "Waiting for warehouse",
            "color": "#aa5500",
            "position": 1,
        },
    )
    stage = db.session.scalar(select(ReviewStage))
    assert stage.name_en == "Waiting for warehouse"
    client.post(
        f"/admin/requests/bulk?ids={requests[0].id}", data={"action": "stage", "stage_id": stage.id}
    )
    listing = client.get(f"/admin/requests/?flt0_status=stage-{stage.id}").get_data(as_text=True)
    assert requests[0].number in listing and requests[1].number not in listing
    assert "Waiting for warehouse" in listing


def test_agent_cannot_create_review_stages(client, auth, shop, anna):
    db.session.commit()
    auth.login("anna@example.com")
    client.post(
        "/admin/stages/new/",
        data={"shop": shop.id, "name_nl": "x", "name_en": "x", "color": "#000000", "position": 1},
    )
    assert db.session.scalar(select(func.count()).select_from(ReviewStage)) == 0
