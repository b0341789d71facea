"""Every page tells the browser to stay strict; the session cookie is out of reach of scripts."""

from html.parser import HTMLParser

import pytest

from extensions import db
from factories import make_order, make_reasons, make_request, make_return, make_shop, make_user


def test_login_page_carries_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")


def test_session_cookie_is_http_only_and_same_site(client, auth):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    response = auth.login("agent@example.com")
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "logging in sets the session cookie"
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes
    assert any(part.startswith("samesite=") and part != "samesite=none" for part in attributes)


# --- Content-Security-Policy: no inline script runs without this response's nonce ---------


class ScriptsAndHandlers(HTMLParser):
    """Collects every <script>'s attributes and every inline event handler."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        self.handlers += [f"<{tag} {name}=...>" for name, _ in attrs if name.startswith("on")]


def script_nonce(response) -> str:
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    sources = policy["script-src"].split()
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    [nonce] = [s[len("'nonce-") : -1] for s in sources if s.startswith("'nonce-")]
    assert len(nonce) >= 16
    return nonce


def assert_no_script_runs_without_the_nonce(response, url: str) -> None:
    assert response.status_code == 200, url
    nonce = script_nonce(response)
    page = ScriptsAndHandlers()
    page.feed(response.get_data(as_text=True))
    for script in page.scripts:
        src = script.get("src")
        external_from_self = src and src.startswith("/") and not src.startswith("//")
        assert external_from_self or script.get("nonce") == nonce, f"{url}: {script}"
    assert page.handlers == [], f"{url} has inline event handlers"


@pytest.fixture
def desk(app, client, auth):
    """A shop with a submitted request, an approved one with its return, a finished bulk
    job, an order, a webhook and a support user who sees every screen."""
    from domain import workflow
    from models import BulkJob

    shop = make_shop()
    support = make_user("support@example.com", is_support=True)
    order = make_order(shop, number="1001", customer_email="klant@example.com")
    submitted = make_request(shop, order=order)
    approved = make_request(shop, order=make_order(shop, number="1002"))
    workflow.approve(approved, support)
    return_ = make_return(approved, "RT-1")
    job = BulkJob(actor=support, action="approve", request_ids=[submitted.id], total=1)
    db.session.add(job)
    db.session.commit()
    return {"shop": shop, "order": order, "request": submitted, "return": return_, "job": job}


def staff_pages(desk) -> list[str]:
    return [
        "/admin/",
        "/admin/requests/",
        f"/admin/requests/{desk['request'].id}",
        f"/admin/requests/bulk?ids={desk['request'].id}&action=approve",
        f"/admin/requests/bulk/{desk['job'].id}?back=/admin/requests/",
        "/admin/returns/",
        f"/admin/returns/{desk['return'].id}",
        "/admin/outbox/",
        f"/admin/orders/edit/?id={desk['order'].id}",
        "/admin/reasons/",
        "/admin/reasons/new/",
        "/admin/questions/",
        "/admin/rules/",
        "/admin/rules/new/",
        "/admin/manual-notice/",
        "/admin/email_templates/",
        "/admin/webhooks/",
        "/admin/webhooks/new/",
        "/admin/stages/",
        "/admin/shops/",
        "/admin/users/",
        "/admin/team/",
        "/account",
    ]


def test_script_src_has_no_unsafe_inline_and_a_fresh_nonce_per_response(client):
    first, second = client.get("/login"), client.get("/login")
    assert script_nonce(first) != script_nonce(second)


def test_every_script_on_the_staff_pages_is_ours_or_carries_the_nonce(client, auth, desk):
    auth.login("support@example.com")
    for url in staff_pages(desk):
        assert_no_script_runs_without_the_nonce(client.get(url, follow_redirects=True), url)


def test_every_script_on_the_customer_pages_is_ours_or_carries_the_nonce(client, desk):
    make_reasons(desk["shop"])
    db.session.commit()
    token = desk["request"].public_token
    for url in ("/login", "/returns/demo/", f"/returns/demo/status/{token}"):
        assert_no_script_runs_without_the_nonce(client.get(url), url)
    looked_up = client.post(
        "/returns/demo/",
        data={"order_number": "1001", "email_or_postcode": "klant@example.com"},
        follow_redirects=True,
    )
    assert_no_script_runs_without_the_nonce(looked_up, "portal items")
    line = desk["order"].lines[0]
    details = client.post(
        "/returns/demo/items",
        data={f"line-{line.id}": "1", f"qty-{line.id}": "1"},
        follow_redirects=True,
    )
    assert "photos" in details.text
    assert_no_script_runs_without_the_nonce(details, "portal details")


def test_dashboard_chart_data_carries_the_nonce(client, auth, desk):
    auth.login("support@example.com")
    response = client.get("/admin/")
    assert f'id="dashboard-charts" nonce="{script_nonce(response)}"' in response.text


@pytest.mark.parametrize("secure", [True, False])
def test_hsts_is_sent_when_cookies_are_secure(app, client, secure):
    app.config["SESSION_COOKIE_SECURE"] = secure
    response = client.get("/login")
    if secure:
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        )
    else:
        assert "Strict-Transport-Security" not in response.headers
