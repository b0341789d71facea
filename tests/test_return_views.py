"""The "Returns" (Retouren) admin: list, filters, search, tenancy, staff steps, carrier accounts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import render_template_string

from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_shop, make_user
from models import COMPLETED, CarrierAccount
from return_flow import approved_request, create_label, emails_to, return_audit, run_jobs
from services import request_page

# The labels go back to the shop's return address.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)


@pytest.fixture
def shipment(shop, agent):
    """An approved request whose customer created an own label (€49.95 + €59.95, €5.95 fee)."""
    return create_label(approved_request(shop, agent))


@pytest.fixture
def logged_in(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def listing(client, query: str = "") -> str:
    return client.get(f"/admin/returns/{query}").get_data(as_text=True)


def test_list_shows_the_return_with_links_status_and_cost(logged_in, shipment):
    page = listing(logged_in)

    assert shipment.number in page
    assert f'href="/admin/requests/{shipment.request_id}"' in page
    assert shipment.request.number in page and shipment.request.customer_name in page
    assert "Own label" in page and shipment.tracking_number in page
    assert "Label created" in page and "€5.95" in page


def test_filters_by_status_and_carrier(logged_in, shipment, agent, shop):
    moved = create_label(approved_request(shop, agent))
    workflow.mark_in_transit(moved, agent)
    db.session.commit()

    in_transit = listing(logged_in, "?flt0_status=in_transit")
    sendcloud = listing(logged_in, "?flt0_carrier=sendcloud")

    assert moved.number in in_transit and shipment.number not in in_transit
    assert shipment.number not in sendcloud and moved.number not in sendcloud


@pytest.mark.parametrize(
    "term",
    [
        lambda r: r.number,
        lambda r: r.tracking_number,
        lambda r: r.request.number,
        lambda r: r.request.customer_email,
    ],
    ids=["number", "tracking", "request", "email"],
)
def test_search_finds_a_return_by(logged_in, shipment, shop, agent, term):
    other = create_label(approved_request(shop, agent))

    page = listing(logged_in, f"?search={term(shipment)}")

    assert shipment.number in page and other.number not in page


def test_other_shops_staff_see_no_returns_and_get_404(client, auth, shipment):
    fashion = make_shop("fashion", "Fashion", **RETURN_ADDRESS)
    make_user("fleur@fashion.example", fashion, "admin")
    db.session.commit()
    auth.login("fleur@fashion.example")

    assert shipment.number not in listing(client)
    assert client.get(f"/admin/returns/{shipment.id}").status_code == 404
    assert client.get(f"/admin/returns/{shipment.id}/label.pdf").status_code == 404
    refused = client.post(f"/admin/returns/{shipment.id}/act", data={"action": "in_transit"})
    assert refused.status_code == 404
    client.post("/admin/returns/action/", data={"action": "in_transit", "rowid": [shipment.id]})
    db.session.expire_all()
    assert shipment.status == "label_created"


def test_row_steps_move_the_return_and_are_audited(logged_in, shipment):
    logged_in.post(f"/admin/returns/{shipment.id}/act", data={"action": "in_transit"})
    logged_in.post(f"/admin/returns/{shipment.id}/act", data={"action": "delivered"})

    db.session.expire_all()
    assert shipment.status == "delivered"
    assert [a for a, _, _ in return_audit(shipment)][-2:] == ["in_transit", "delivered"]


def test_a_refused_step_is_explained(logged_in, shipment):
    response = logged_in.post(
        f"/admin/returns/{shipment.id}/act", data={"action": "resolve", "kind": "refund"}
    )
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)

    assert "cannot become resolved" in page


def test_inspection_then_refund_through_the_page(logged_in, shipment):
    first, second = shipment.request.lines
    page = logged_in.get(f"/admin/returns/{shipment.id}").get_data(as_text=True)
    assert f'name="condition-{first.id}"' in page and f'name="quantity-{second.id}"' in page

    logged_in.post(
        f"/admin/returns/{shipment.id}/act",
        data={
            "action": "receive",
            f"condition-{first.id}": "ok",
            f"quantity-{first.id}": "1",
            f"condition-{second.id}": "damaged",
            f"quantity-{second.id}": "1",
        },
    )
    received = logged_in.get(f"/admin/returns/{shipment.id}").get_data(as_text=True)
    assert "Received damaged" in received  # the breakdown, shown before resolving
    assert "€44.00" in received  # 49.95 - 5.95
    assert "Resolve: Refund" in received

    logged_in.post(
        f"/admin/returns/{shipment.id}/act", data={"action": "resolve", "kind": "refund"}
    )

    db.session.expire_all()
    assert (first.condition, second.condition) == ("ok", "damaged")
    assert shipment.status == "resolved" and shipment.refund_cents == 4400
    assert shipment.request.status == COMPLETED
    assert emails_to(shipment.request.customer_email, "return_received")
    assert emails_to(shipment.request.customer_email, "return_resolved")


def test_an_incomplete_inspection_form_changes_nothing(logged_in, shipment):
    first, _second = shipment.request.lines
    logged_in.post(
        f"/admin/returns/{shipment.id}/act",
        data={"action": "receive", f"condition-{first.id}": "ok", f"quantity-{first.id}": "1"},
    )

    db.session.expire_all()
    assert shipment.status == "label_created" and first.condition is None


def test_bulk_steps_apply_to_the_ticked_returns(logged_in, shipment, shop, agent):
    other = create_label(approved_request(shop, agent))
    ids = [shipment.id, other.id]

    logged_in.post("/admin/returns/action/", data={"action": "in_transit", "rowid": ids})
    logged_in.post("/admin/returns/action/", data={"action": "received", "rowid": ids})
    logged_in.post("/admin/returns/action/", data={"action": "refund", "rowid": ids})

    for return_ in (shipment, other):
        db.session.expire_all()
        assert return_.status == "resolved" and return_.refund_cents == 4995 + 5995 - 595
    assert "Resolved" in listing(logged_in, "?flt0_status=resolved")


def test_cancel_from_the_page_voids_and_the_label_can_be_made_again(logged_in, shipment):
    logged_in.post(f"/admin/returns/{shipment.id}/act", data={"action": "cancel"})
    db.session.expire_all()
    assert shipment.status == "cancelled"

    logged_in.post(f"/admin/returns/{shipment.id}/act", data={"action": "recreate"})
    run_jobs()

    db.session.expire_all()
    assert shipment.status == "label_created" and shipment.label_status == "ready"


def test_staff_download_the_label(logged_in, shipment):
    response = logged_in.get(f"/admin/returns/{shipment.id}/label.pdf")

    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_request_page_include_links_to_its_return(app, shipment):
    with app.test_request_context():
        html = render_template_string(
            "{% include 'admin/requests/_returns.html' %}",
            req=SimpleNamespace(returns=(request_page.return_of(shipment),)),
        )

    assert f'href="/admin/returns/{shipment.id}"' in html and "Label ready" in html


def test_shop_admin_sets_a_carrier_secret_that_is_never_shown(client, auth, shop):
    make_user("boss@demo.example", shop, "admin")
    db.session.commit()
    auth.login("boss@demo.example")

    client.post(
        "/admin/carriers/new/",
        data={
            "shop": str(shop.id),
            "carrier": "sendcloud",
            "enabled": "y",
            "public_key": "pk_live",
            "new_secret_key": "sk_live_secret",
            "settings": '{"shipping_option_code": "postnl:return/standard"}',
        },
    )
    account = db.session.query(CarrierAccount).one()
    assert (account.public_key, account.secret_key) == ("pk_live", "sk_live_secret")
    assert "sk_live_secret" not in client.get("/admin/carriers/").get_data(as_text=True)
    edit = client.get(f"/admin/carriers/edit/?id={account.id}").get_data(as_text=True)
    assert "sk_live_secret" not in edit

    client.post(
        f"/admin/carriers/edit/?id={account.id}",
        data={
            "shop": str(shop.id),
            "carrier": "sendcloud",
            "enabled": "y",
            "public_key": "pk_live",
            "new_secret_key": "",
            "settings": '{"shipping_option_code": "postnl:return/standard"}',
        },
    )
    db.session.refresh(account)
    assert account.secret_key == "sk_live_secret"  # an empty field keeps the stored key


def test_agents_cannot_open_carrier_accounts(logged_in):
    assert logged_in.get("/admin/carriers/").status_code == 403
