"""Tenancy: staff of one shop never see or change another shop's data, whatever URL they try.

The probe enumerates every Flask-Admin URL of the app (so views added later are covered
too) and aims it at the ``demo`` shop's rows while logged in as ``fashion`` staff.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for

from extensions import db
from factories import make_user
from models import (
    ApiKey,
    Membership,
    Order,
    OrderLine,
    Return,
    ReturnReason,
    ReturnRequest,
    ReviewStage,
    Shop,
    User,
    WebhookEndpoint,
)
from tenancy_helpers import DEMO_ID, ShopData, database_snapshot
from web.admin.base import ShopScopedView
from web.api import http

# Flask-Admin's own pages of one row: they must refuse a row of another shop.
ROW_PAGES = {
    "details_view",
    "edit_view",
    "delete_view",
    "action_view",
    "export",
    "ajax_lookup",
    "ajax_update",
}
# Answers that refuse: forbidden, not found, or a redirect (followed and checked too).
REFUSALS = {302, 403, 404}
# Every name a form or query string of ours uses for a row id, and the actions to try.
ID_FIELDS = ("id", "ids", "rowid", "list_form_pk", "membership_id", "request_id", "user_id")
ACTIONS = ("delete", "approve")


@dataclass
class Probe:
    method: str
    url: str
    data: dict | None
    must_refuse: bool
    searched: str | None = None


def admin_endpoints(app) -> list[tuple[str, set[str], object]]:
    """Every Flask-Admin endpoint but static files: ``(endpoint, methods, rule)``."""
    admin_endpoints = {view.endpoint for view in app.extensions["admin"][0]._views}
    return [
        (rule.endpoint, rule.methods - {"HEAD", "OPTIONS"}, rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in admin_endpoints and not rule.endpoint.endswith(".static")
    ]


def path_values(rule) -> dict:
    """Fill a rule's URL variables: an export format, else the demo rows' id."""
    return {name: "csv" if name == "export_type" else DEMO_ID for name in rule.arguments}


def form_aimed_at_demo(action: str, shop_id: int) -> dict:
    """A form naming the demo rows wherever an id can go, and a shop to put a row in."""
    return {
        **dict.fromkeys(ID_FIELDS, DEMO_ID),
        "action": action,
        "reason": "hack",
        "role": "admin",
        "shop": shop_id,
        "shop_id": shop_id,
        "number": "HACK-1",
        "customer_name": "Hacker",
        "customer_email": "hacker@example.com",
        "code": "hack",
        "label_nl": "hack",
        "label_en": "hack",
        "position": "0",
    }


def probes_against(app, demo: ShopData, own_shop: Shop) -> list[Probe]:
    """Every admin URL, every method, aimed at the demo shop's rows."""
    probes = []
    for endpoint, methods, rule in admin_endpoints(app):
        page = endpoint.split(".")[-1]
        with app.test_request_context():
            url = url_for(endpoint, id=DEMO_ID, ids=DEMO_ID, **path_values(rule))
        must_refuse = page in ROW_PAGES or bool(rule.arguments)
        # Creating tries to plant a row in the demo shop; the rest to pull one into our own.
        shop_id = demo.shop.id if page == "create_view" else own_shop.id
        if "GET" in methods:
            probes.append(Probe("GET", url, None, must_refuse))
        if "POST" in methods:
            probes += [
                Probe("POST", url, form_aimed_at_demo(action, shop_id), must_refuse)
                for action in ACTIONS
            ]
        if page == "index_view":
            with app.test_request_context():
                url = url_for(endpoint, search=demo.markers[1])
            probes.append(Probe("GET", url, None, False, searched=demo.markers[1]))
    return probes


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
            for marker in leaked_markers(target.text, demo, probe.searched)
        ]
    elif response.status_code not in REFUSALS and (
        probe.must_refuse or response.status_code != 200
    ):
        problems.append(f"{where} answers {response.status_code}")
    return problems


@pytest.mark.parametrize("login", ["agent@fashion.example.com", "admin@fashion.example.com"])
def test_fashion_staff_never_reach_demo_data_through_any_admin_url(
    app, client, auth, tenants, login
):
    demo, fashion = tenants["demo"], tenants["fashion"]
    assert auth.login(login).status_code == 302
    before = database_snapshot()

    problems = []
    for probe in probes_against(app, demo, fashion.shop):
        response = client.open(probe.url, method=probe.method, data=probe.data)
        problems += problems_with(probe, response, client, demo)

    assert not problems, "fashion staff reached demo data:\n" + "\n".join(problems)
    assert database_snapshot() == before, "a request of fashion staff changed data"


def scoped_views(app, shop: ShopData) -> list[ShopScopedView]:
    """The shop-scoped admin views; each must have a row in ``shop_with_data()``."""
    views = [v for v in app.extensions["admin"][0]._views if isinstance(v, ShopScopedView)]
    for view in views:
        assert view.model in shop.rows, f"add a {view.model.__name__} row to shop_with_data()"
    return views


def test_admin_lists_show_only_rows_of_the_users_own_shop(app, client, auth, tenants):
    demo, fashion = tenants["demo"], tenants["fashion"]
    auth.login("admin@fashion.example.com")
    endpoints = [f"{view.endpoint}.index_view" for view in scoped_views(app, fashion)]
    for endpoint in [*endpoints, "admin.index"]:
        with app.test_request_context():
            url = url_for(endpoint)
        page = client.get(url, follow_redirects=True)
        assert page.status_code == 200, url
        assert any(marker in page.text for marker in fashion.markers), f"{url} shows own rows"
        assert leaked_markers(page.text, demo) == [], url


def test_the_probed_urls_do_show_the_data_to_its_own_shop(app, client, auth, tenants):
    """The probe is no vacuous 404 hunt: the demo admin reads each demo row at its URL."""
    demo = tenants["demo"]
    auth.login("admin@example.com")
    for view in scoped_views(app, demo):
        if not view.can_view_details:
            continue
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.details_view", id=DEMO_ID)
        page = client.get(url)
        assert page.status_code == 200, url
        assert any(marker in page.text for marker in demo.markers), url


def test_bulk_delete_removes_own_rows_and_skips_other_shops_rows(app, client, auth, tenants):
    demo, fashion = tenants["demo"], tenants["fashion"]
    spare = ReturnReason(shop=fashion.shop, code="spare", label_nl="Reserve", label_en="Spare")
    fashion.shop.admins_edit_form = True  # support lets this shop's admins edit its form
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
    app, client, auth, tenants
):
    demo, fashion = tenants["demo"], tenants["fashion"]
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


# --- every other route: portal, label portal, API, auth, exports and polling -------------------

FASHION_KEY = "rd_fashion-tenancy-probe-key"


@dataclass
class RouteProbe:
    method: str
    url: str
    data: dict | None = None
    json: dict | None = None
    api: bool = False
    echoed: tuple[str, ...] = ()  # what the attacker typed and the page may repeat
    must_be: int | None = None


def api_lookup(url: str, number: str) -> RouteProbe:
    """Another shop's number through the API: 404, whose problem text may repeat the number."""
    return RouteProbe("GET", url, api=True, echoed=(number,), must_be=404)


def route_probes(demo: ShopData) -> dict[str, list[RouteProbe]]:
    """How to aim each non-Flask-Admin endpoint at the demo shop, as fashion staff, with
    fashion's API key or with the demo request's token under the fashion portal. A route
    added to the app without an entry here fails the test below."""
    token = demo.rows[ReturnRequest].public_token
    order_number, request_number = demo.markers[2], demo.markers[3]
    return_number = demo.rows[Return].number
    status = f"/returns/fashion/status/{token}"
    lookup = {"order_number": order_number, "email_or_postcode": demo.markers[1]}
    portal_form = {"order_number": order_number, "submission_key": "x", "resolution": "refund"}
    customer = (demo.markers[1],)

    def get_post(url: str, data: dict | None = None) -> list[RouteProbe]:
        return [RouteProbe("GET", url), RouteProbe("POST", url, data or portal_form)]

    return {
        "static": [RouteProbe("GET", "/static/app.css")],
        "admin.static": [
            RouteProbe("GET", "/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css")
        ],
        "auth.home": [RouteProbe("GET", "/")],
        "auth.login": [RouteProbe("GET", "/login")],
        "auth.logout": [],  # ends the attacker's own session only
        "auth.account": [RouteProbe("GET", "/account")],
        "auth.choose_language": [],  # the attacker's own language only
        "auth.notification_emails": [],  # the attacker's own email choices only
        "auth.forgot_password": [RouteProbe("GET", "/password/forgot")],
        "auth.accept_invite": [RouteProbe("GET", f"/invite/{token}")],
        "auth.reset_password": [RouteProbe("GET", f"/password/reset/{token}")],
        "portal.lookup": [
            RouteProbe("GET", "/returns/fashion/"),
            RouteProbe("POST", "/returns/fashion/", lookup, echoed=tuple(lookup.values())),
        ],
        "portal.items": get_post("/returns/fashion/items"),
        "portal.details": get_post("/returns/fashion/details"),
        "portal.questions": get_post("/returns/fashion/questions"),
        "portal.resolution": get_post("/returns/fashion/resolution"),
        "portal.review": get_post("/returns/fashion/review"),
        "portal.withdraw": get_post("/returns/fashion/withdraw"),
        "portal.resend_link": [
            RouteProbe("POST", f"/returns/fashion/items/resend/{demo.rows[ReturnRequest].id}")
        ],
        "portal.status": [RouteProbe("GET", status)],
        "label_portal.index": [RouteProbe("GET", f"{status}/label")],
        "label_portal.create": [RouteProbe("POST", f"{status}/label", {"carrier": "own"})],
        "label_portal.again": [RouteProbe("POST", f"{status}/label/again", {"carrier": "own"})],
        "label_portal.pdf": [RouteProbe("GET", f"{status}/label/pdf")],
        "label_portal.qr": [RouteProbe("GET", f"{status}/label/qr")],
        "label_portal.qr_png": [RouteProbe("GET", f"{status}/label/qr.png")],
        # Signed by the platform with the shop's secret, not a session: a staff member of
        # another shop is a stranger here (the demo shop has no connection: 404).
        "platform_webhooks.order_webhook": [
            RouteProbe(
                "POST",
                "/connectors/demo/woocommerce/orders",
                json={"number": order_number, "line_items": []},
                must_be=404,
            )
        ],
        "api.docs": [RouteProbe("GET", "/api/v1/docs", api=True)],
        "api.openapi": [RouteProbe("GET", "/api/v1/openapi.json", api=True)],
        "api.get_order": [api_lookup(f"/api/v1/orders/{order_number}", order_number)],
        "api.get_return": [api_lookup(f"/api/v1/returns/{return_number}", request_number)],
        "api.get_return_request": [
            api_lookup(f"/api/v1/return-requests/{request_number}", request_number)
        ],
        "api.list_return_requests": [RouteProbe("GET", "/api/v1/return-requests", api=True)],
        "api.create_return_request": [
            RouteProbe(
                "POST",
                "/api/v1/return-requests",
                json={
                    "order_number": order_number,
                    "resolution": "refund",
                    "lines": [{"sku": "demo-1", "quantity": 1}],
                },
                api=True,
                echoed=(order_number,),
            )
        ],
        "api.act_on_return_request": [
            RouteProbe(
                "POST",
                f"/api/v1/return-requests/{request_number}/actions",
                json={"action": "cancel", "reason": "hacked"},
                api=True,
                echoed=(request_number,),
                must_be=404,
            )
        ],
        "api.list_messages": [
            api_lookup(f"/api/v1/return-requests/{request_number}/messages", request_number)
        ],
        "api.get_attachment": [
            api_lookup(
                f"/api/v1/return-requests/{request_number}/attachments/{DEMO_ID}", request_number
            )
        ],
        "api.post_message": [
            RouteProbe(
                "POST",
                f"/api/v1/return-requests/{request_number}/messages",
                json={"direction": "outbound", "body": "hacked"},
                api=True,
                echoed=(request_number,),
                must_be=404,
            )
        ],
        "api.record_return_event": [
            RouteProbe(
                "POST",
                f"/api/v1/returns/{return_number}/events",
                json={"event": "in_transit"},
                api=True,
                echoed=(request_number,),
                must_be=404,
            )
        ],
        "conversation_portal.reply": [
            RouteProbe("POST", f"{status}/reply", {"body": "hacked"}),
        ],
        "conversation_portal.attachment": [
            RouteProbe("GET", f"{status}/attachment/{DEMO_ID}"),
        ],
        "api.list_returns": [RouteProbe("GET", "/api/v1/returns", api=True)],
        # Another shop's customer: the export is empty and the erasure finds nothing.
        "api.get_customer_data": [
            RouteProbe(
                "GET", f"/api/v1/customers/{demo.markers[1]}/data", api=True, echoed=customer
            )
        ],
        "api.erase_customer": [
            RouteProbe(
                "POST", f"/api/v1/customers/{demo.markers[1]}/erase", api=True, echoed=customer
            )
        ],
        "api.upsert_order": [
            RouteProbe(
                "POST",
                "/api/v1/orders",
                json={
                    "number": order_number,
                    "customer_name": "Hacker",
                    "customer_email": "hacker@example.com",
                    "lines": [{"sku": "X", "product_name": "X", "unit_price_cents": 1}],
                },
                api=True,
                echoed=(order_number,),
            )
        ],
    }


# Flask-Admin endpoints are probed by test_fashion_staff_never_reach_demo_data_through_any_admin_url;
# these are its pages whose real arguments (an export format, a poll) need a probe of their own.
ADMIN_EXTRA_PROBES = [
    RouteProbe("GET", "/admin/requests/export/csv?all=1"),
    RouteProbe("GET", "/admin/requests/export/xlsx?all=1"),
    RouteProbe("GET", "/admin/requests/changes?since=2000-01-01T00:00:00"),
    RouteProbe("GET", f"/admin/requests/export/csv?all=1&search={DEMO_ID}"),
    RouteProbe("GET", f"/admin/requests/{DEMO_ID}/photo/{DEMO_ID}"),
    RouteProbe("GET", f"/admin/returns/{DEMO_ID}/label.pdf"),
]


def demo_rows_state(demo: ShopData) -> dict[str, dict]:
    """Every column of every demo row, to prove no probe changed one."""
    db.session.expire_all()
    return {
        model.__name__: {
            column.key: repr(getattr(db.session.get(model, row.id), column.key))
            for column in model.__table__.columns
        }
        for model, row in demo.rows.items()
    }


def test_every_route_of_the_app_refuses_another_shops_data(app, client, auth, tenants):
    demo, fashion = tenants["demo"], tenants["fashion"]
    db.session.add(
        ApiKey(shop=fashion.shop, name="probe", prefix=FASHION_KEY[:9], key_hash=api_key_hash())
    )
    db.session.commit()
    assert auth.login("admin@fashion.example.com").status_code == 302
    admin_covered = {endpoint for endpoint, _, _ in admin_endpoints(app)}
    known = route_probes(demo)
    unknown = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in admin_covered and rule.endpoint not in known
    )
    assert not unknown, f"routes without a tenancy probe, add them to route_probes(): {unknown}"
    before = demo_rows_state(demo)

    problems = []
    for probe in [p for probes in known.values() for p in probes] + ADMIN_EXTRA_PROBES:
        headers = {"Authorization": f"Bearer {FASHION_KEY}"} if probe.api else {}
        response = client.open(
            probe.url, method=probe.method, data=probe.data, json=probe.json, headers=headers
        )
        where = f"{probe.method} {probe.url}"
        if response.status_code >= 500 or probe.must_be not in (None, response.status_code):
            problems.append(f"{where} answers {response.status_code}")
        text = readable(response)
        shown = [m for m in demo.markers if m in text and m not in probe.echoed]
        problems += [f"{where} shows {marker!r}" for marker in shown]
        if probe.url.startswith("/returns/fashion/") and response.status_code == 302:
            target = response.headers["Location"]
            if "/items" in target or "/status/" in target:
                problems.append(f"{where} let the attacker in ({target})")

    assert not problems, "another shop's data was reached:\n" + "\n".join(problems)
    assert demo_rows_state(demo) == before, "a probe changed the demo shop's data"


def readable(response) -> str:
    """A response's text; a spreadsheet's cells for an Excel export."""
    data = response.get_data()
    if data[:2] == b"PK":
        import io

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data), read_only=True).active
        return " ".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    return data.decode("utf-8", "replace")


def api_key_hash() -> str:
    return http.hash_key(FASHION_KEY)


# --- one user, two roles: admin of fashion, agent of demo --------------------------------------

# Views whose list actions are review steps any staff of the shop takes (workflow.py decides
# each); every other shop-scoped view changes rows only for the shop's admins.
REVIEW_STEP_VIEWS = {"requests", "returns"}


@pytest.fixture
def admin_here_agent_there(tenants):
    """Admin of fashion and agent of demo; both shops let their admins edit the return form."""
    demo, fashion = tenants["demo"], tenants["fashion"]
    make_user("mixed@example.com", fashion.shop, "admin")
    user = db.session.query(User).filter_by(email="mixed@example.com").one()
    db.session.add(Membership(user=user, shop=demo.shop, role="agent"))
    demo.shop.admins_edit_form = fashion.shop.admins_edit_form = True
    db.session.commit()
    return demo, fashion


def admin_only_views(app, shop: ShopData) -> list[ShopScopedView]:
    return [v for v in scoped_views(app, shop) if v.endpoint not in REVIEW_STEP_VIEWS]


def edit_form_into(shop: Shop) -> dict:
    """A filled-in edit form of any admin-only view, saving the row into ``shop``."""
    return {
        **form_aimed_at_demo("", shop.id),
        "name": "hack",
        "name_nl": "hack",
        "name_en": "hack",
        "color": "#000000",
        "carrier": "sendcloud",
        "public_key": "hack",
        "enabled": "y",
        "url": "https://hack.example.com/hook",
        "events": "request.created",
        "active": "y",
        "kind": "text",
        "language": "nl",
        "subject": "hack",
        "body_text": "hack",
        "ordered_at": "2026-01-01 00:00:00",
        "customer_country": "NL",
        "customer_language": "nl",
        "currency": "EUR",
    }


def test_admin_of_one_shop_cannot_edit_delete_or_act_on_rows_of_a_shop_where_they_are_agent(
    app, client, auth, admin_here_agent_there
):
    demo, fashion = admin_here_agent_there
    auth.login("mixed@example.com")
    before = demo_rows_state(demo)

    answers = []
    for view in admin_only_views(app, demo):
        base = f"/admin/{view.endpoint}"
        answers.append(client.post(f"{base}/delete/", data={"id": DEMO_ID}))
        for name, _label in view._actions:
            answers.append(client.post(f"{base}/action/", data={"action": name, "rowid": DEMO_ID}))
        for shop in (fashion.shop, demo.shop):
            answers.append(client.post(f"{base}/edit/?id={DEMO_ID}", data=edit_form_into(shop)))

    assert all(answer.status_code in REFUSALS for answer in answers)
    assert demo_rows_state(demo) == before, "an agent of demo changed demo's admin-only rows"


def test_the_same_user_edits_and_deletes_rows_of_the_shop_they_administer(
    app, client, auth, admin_here_agent_there
):
    _demo, fashion = admin_here_agent_there
    stage_id, key_id = fashion.rows[ReviewStage].id, fashion.rows[ApiKey].id
    endpoint_id = fashion.rows[WebhookEndpoint].id
    auth.login("mixed@example.com")

    edited = client.post(f"/admin/stages/edit/?id={stage_id}", data=edit_form_into(fashion.shop))
    db.session.expire_all()
    renamed = db.session.get(ReviewStage, stage_id).name_en
    revoked = client.post("/admin/api_keys/action/", data={"action": "revoke", "rowid": key_id})
    deleted = client.post("/admin/webhooks/delete/", data={"id": endpoint_id})
    ticked_in_both = client.post(
        "/admin/stages/action/", data={"action": "delete", "rowid": [stage_id, DEMO_ID]}
    )

    assert {r.status_code for r in (edited, revoked, deleted, ticked_in_both)} == {302}
    assert renamed == "hack"
    db.session.expire_all()
    assert db.session.get(ApiKey, key_id).revoked_at is not None
    assert db.session.get(WebhookEndpoint, endpoint_id) is None
    assert db.session.get(ReviewStage, stage_id) is None
    assert db.session.get(ReviewStage, DEMO_ID) is not None, "demo's stage stays"
