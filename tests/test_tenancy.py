"""Tenancy: staff of one shop never see or change another shop's data, whatever URL they try.

The probe enumerates every Flask-Admin URL of the app (so views added later are covered
too) and aims it at the ``demo`` shop's rows while logged in as ``fashion`` staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import make_shop, make_user
from flask import url_for

from admin_views import ShopScopedView
from extensions import db
from models import (
    Order,
    OrderLine,
    OutboundEmail,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    User,
)


@dataclass
class ShopData:
    """One shop's rows, and strings that only appear in that shop's data."""

    shop: Shop
    rows: dict[type, object] = field(default_factory=dict)
    markers: tuple[str, ...] = ()


def shop_with_data(
    slug: str, name: str, customer: str, email: str, order_number: str, request_number: str
) -> ShopData:
    shop = make_shop(slug, name)
    order = Order(
        shop=shop,
        number=order_number,
        customer_name=customer,
        customer_email=email,
        lines=[OrderLine(sku=f"{slug}-1", product_name="Linnen blouse", unit_price_cents=4995)],
    )
    reason = ReturnReason(
        shop=shop,
        code=f"{slug}-size",
        label_nl=f"Te klein ({name})",
        label_en=f"Too small ({name})",
    )
    request = ReturnRequest(
        number=request_number,
        shop=shop,
        order=order,
        order_number=order_number,
        customer_name=customer,
        customer_email=email,
        lines=[ReturnRequestLine(order_line=order.lines[0], reason=reason)],
    )
    db.session.add_all([order, reason, request])
    db.session.flush()
    outbound = OutboundEmail(
        shop_id=shop.id,
        request_id=request.id,
        template="request_received",
        to_address=email,
        subject=f"Uw retouraanvraag {request_number}",
        body_text=f"Beste {customer}",
        body_html=f"<p>Beste {customer}</p>",
        status="sent",
    )
    db.session.add(outbound)
    db.session.flush()
    rows = {
        Shop: shop,
        Order: order,
        OrderLine: order.lines[0],
        ReturnReason: reason,
        ReturnRequest: request,
        ReturnRequestLine: request.lines[0],
        OutboundEmail: outbound,
    }
    return ShopData(shop, rows, (customer, email, order_number, request_number, name))


@pytest.fixture
def shops(app):
    """``fashion`` with its staff, and ``demo`` whose data they must never reach."""
    fashion = shop_with_data(
        "fashion",
        "Mode Huis",
        "Fenna Fashionista",
        "fenna@mode.example.nl",
        "MH-1001",
        "R-2026-00001",
    )
    demo = shop_with_data(
        "demo",
        "Demo Winkel",
        "Griet van Demohuizen",
        "griet@demo.example.nl",
        "DW-7001",
        "R-2026-00002",
    )
    demo.rows[User] = make_user("admin@example.com", demo.shop, "admin", name="Daan Demobaas")
    make_user("agent@fashion.example.com", fashion.shop, "agent")
    make_user("admin@fashion.example.com", fashion.shop, "admin")
    make_user("support@example.com", is_support=True)
    db.session.commit()
    return {"fashion": fashion, "demo": demo}


# Pages that may answer 200 as long as they show only the user's own shops.
LIST_PAGES = {"index", "index_view"}
# Answers that refuse: not found, forbidden, or a redirect (followed and checked too).
REFUSALS = {302, 403, 404}


@dataclass
class Probe:
    method: str
    url: str
    data: dict | None
    may_succeed: bool
    searched: str | None = None


def admin_endpoints(app) -> list[tuple[str, object, set[str], object]]:
    """Every Flask-Admin endpoint but static files: ``(endpoint, view, methods, rule)``."""
    views = {view.endpoint: view for view in app.extensions["admin"][0]._views}
    endpoints = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or rule.endpoint.endswith(".static"):
            continue
        view = views[rule.endpoint.split(".")[0]]
        endpoints.append((rule.endpoint, view, rule.methods - {"HEAD", "OPTIONS"}, rule))
    return endpoints


def path_values(rule, target_id: int) -> dict:
    """Fill a rule's URL variables: an export format, or the targeted row's id."""
    return {name: "csv" if name == "export_type" else target_id for name in rule.arguments}


def form_aimed_at(target_id: int, shop_id: int) -> dict:
    """A form naming another shop's row everywhere an id can go, and a shop to put it in."""
    return {
        "id": target_id,
        "rowid": target_id,
        "action": "delete",
        "list_form_pk": target_id,
        "shop": shop_id,
        "number": "HACK-1",
        "customer_name": "Hacker",
        "customer_email": "hacker@example.com",
        "code": "hack",
        "label_nl": "hack",
        "label_en": "hack",
        "position": "0",
    }


def probes_against(app, demo: ShopData, own_shop: Shop) -> list[Probe]:
    """Every admin URL aimed at each of the demo shop's rows it could show or change."""
    probes = []
    for endpoint, view, methods, rule in admin_endpoints(app):
        model = getattr(view, "model", None)
        targets = [demo.rows[model]] if model in demo.rows else list(demo.rows.values())
        page = endpoint.split(".")[-1]
        for target in targets:
            with app.test_request_context():
                url = url_for(endpoint, id=target.id, **path_values(rule, target.id))
            may_succeed = (
                page in LIST_PAGES
                or page == "create_view"
                or (model is None and not rule.arguments)
            )
            # Creating tries to plant a row in the demo shop; the rest to pull one into our own.
            shop_id = demo.shop.id if page == "create_view" else own_shop.id
            for method in sorted(methods):
                data = form_aimed_at(target.id, shop_id) if method == "POST" else None
                probes.append(Probe(method, url, data, may_succeed))
        if page == "index_view":
            with app.test_request_context():
                url = url_for(endpoint, search=demo.markers[1])
            probes.append(Probe("GET", url, None, True, searched=demo.markers[1]))
    return probes


def database_snapshot() -> dict[str, list]:
    db.session.expire_all()
    return {
        table.name: sorted(map(repr, db.session.execute(table.select()).all()))
        for table in db.metadata.sorted_tables
    }


def leaked_markers(text: str, demo: ShopData, searched: str | None = None) -> list[str]:
    return [m for m in demo.markers if m in text and m != searched]


def problems_with(probe: Probe, response, client, demo: ShopData) -> list[str]:
    """What is wrong with one answer: demo data in it, or a status that is no refusal."""
    where = f"{probe.method} {probe.url}"
    problems = [
        f"{where} shows {marker!r}"
        for marker in leaked_markers(response.text, demo, probe.searched)
    ]
    if response.status_code == 302:
        target = client.get(response.headers["Location"])
        problems += [
            f"{where} redirects to a page showing {marker!r}"
            for marker in leaked_markers(target.text, demo)
        ]
    elif response.status_code not in REFUSALS and not (
        probe.may_succeed and response.status_code == 200
    ):
        problems.append(f"{where} answers {response.status_code}")
    return problems


@pytest.mark.parametrize("login", ["agent@fashion.example.com", "admin@fashion.example.com"])
def test_fashion_staff_never_reach_demo_data_through_any_admin_url(app, client, auth, shops, login):
    demo, fashion = shops["demo"], shops["fashion"]
    assert auth.login(login).status_code == 302
    before = database_snapshot()

    problems = []
    for probe in probes_against(app, demo, fashion.shop):
        response = client.open(probe.url, method=probe.method, data=probe.data)
        problems += problems_with(probe, response, client, demo)

    assert not problems, "fashion staff reached demo data:\n" + "\n".join(problems)
    assert database_snapshot() == before, "a request of fashion staff changed data"


def scoped_list_endpoints(app) -> list[str]:
    return [
        f"{view.endpoint}.index_view"
        for view in app.extensions["admin"][0]._views
        if isinstance(view, ShopScopedView)
    ]


def test_admin_lists_show_only_rows_of_the_users_own_shop(app, client, auth, shops):
    demo, fashion = shops["demo"], shops["fashion"]
    auth.login("agent@fashion.example.com")
    for endpoint in scoped_list_endpoints(app) + ["admin.index"]:
        with app.test_request_context():
            url = url_for(endpoint)
        page = client.get(url)
        assert page.status_code == 200, url
        assert any(marker in page.text for marker in fashion.markers), f"{url} shows own rows"
        assert leaked_markers(page.text, demo) == [], url


def test_the_probed_urls_do_show_the_data_to_its_own_shop(app, client, auth, shops):
    """The probe is no vacuous 404 hunt: the demo admin reads each demo row at its URL."""
    demo = shops["demo"]
    auth.login("admin@example.com")
    for view in app.extensions["admin"][0]._views:
        if not isinstance(view, ShopScopedView) or not view.can_view_details:
            continue
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.details_view", id=demo.rows[view.model].id)
        page = client.get(url)
        assert page.status_code == 200, url
        assert any(marker in page.text for marker in demo.markers), url


def test_bulk_delete_removes_own_rows_and_skips_other_shops_rows(app, client, auth, shops):
    demo, fashion = shops["demo"], shops["fashion"]
    spare = ReturnReason(shop=fashion.shop, code="spare", label_nl="Reserve", label_en="Spare")
    db.session.add(spare)
    db.session.commit()
    spare_id, demo_reason_id = spare.id, demo.rows[ReturnReason].id
    auth.login("admin@fashion.example.com")

    response = client.post(
        "/admin/reasons/action/", data={"action": "delete", "rowid": [spare_id, demo_reason_id]}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReturnReason, spare_id) is None
    assert db.session.get(ReturnReason, demo_reason_id) is not None


def test_order_line_id_of_another_shop_in_own_order_form_leaves_that_line_alone(
    app, client, auth, shops
):
    demo, fashion = shops["demo"], shops["fashion"]
    own_order, demo_line = fashion.rows[Order], demo.rows[OrderLine]
    demo_line_before = (demo_line.order_id, demo_line.sku, demo_line.product_name)
    auth.login("admin@fashion.example.com")

    client.post(
        f"/admin/orders/edit/?id={own_order.id}",
        data={
            "shop": fashion.shop.id,
            "number": own_order.number,
            "customer_name": own_order.customer_name,
            "customer_email": own_order.customer_email,
            "customer_country": "NL",
            "customer_language": "nl",
            "currency": "EUR",
            "ordered_at": "2026-01-01 00:00:00",
            "lines-0-id": demo_line.id,
            "lines-0-sku": "stolen",
            "lines-0-product_name": "Stolen line",
            "lines-0-quantity": "1",
            "lines-0-unit_price_cents": "1",
            "lines-0-discount_cents": "0",
        },
    )

    db.session.expire_all()
    line = db.session.get(OrderLine, demo_line.id)
    assert (line.order_id, line.sku, line.product_name) == demo_line_before
