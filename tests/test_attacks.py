"""Nobody let in: what an attacker tries against the portal, uploads, pages and sessions.

Tenancy over every route of the app is in ``test_tenancy.py``.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import func, select

from app import create_app
from domain import workflow
from extensions import db, limiter
from factories import make_order, make_request, make_shop, make_user
from harness import FreshContextClient, app_config, empty_all_tables
from models import Attachment, ReturnRequest
from portal_helpers import (
    HEIC_HEADER,
    PORTAL_ORDER,
    at_details,
    fill_until_review,
    give_details,
    image_bytes,
    jpeg_bytes,
    lookup,
    stored_files,
    submission_key,
    submit,
)
from services import storage
from tenancy_helpers import database_snapshot

SCRIPT = '<script>alert("x")</script>'


def submitted_request(shop, order, customer_name: str | None = None, **fields) -> ReturnRequest:
    request = make_request(shop, order=order, **fields)
    request.customer_name = customer_name or request.customer_name
    return request


# --- customer tokens ------------------------------------------------------------------------


def test_customer_tokens_carry_at_least_128_random_bits(shop, order):
    tokens = [submitted_request(shop, order).public_token for _ in range(50)]
    assert len(set(tokens)) == 50
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
    symbols = Counter("".join(tokens))
    total = sum(symbols.values())
    entropy_per_char = -sum(n / total * math.log2(n / total) for n in symbols.values())
    assert entropy_per_char * len(tokens[0]) >= 128


def test_status_page_visit_does_not_log_the_token(app, client, shop, order, caplog):
    req = submitted_request(shop, order)
    db.session.commit()
    with caplog.at_level(logging.DEBUG):
        assert client.get(f"/returns/demo/status/{req.public_token}").status_code == 200
    assert req.public_token not in caplog.text


def test_staff_renew_the_customers_link_and_the_old_one_stops_working(client, auth, shop, order):
    agent = make_user("agent@example.com", shop)
    req = submitted_request(shop, order)
    db.session.commit()
    old = req.public_token
    auth.login(agent.email)
    page = client.get(f"/admin/requests/{req.id}").get_data(as_text=True)
    assert "Renew the customer&#39;s link" in page or "Renew the customer's link" in page

    client.post(f"/admin/requests/{req.id}/act", data={"action": "renew_link"})

    db.session.refresh(req)
    assert req.public_token != old and len(req.public_token) >= 43
    assert client.get(f"/returns/demo/status/{old}").status_code == 404
    assert client.get(f"/returns/demo/status/{req.public_token}").status_code == 200


def test_renewing_the_link_retires_the_key_the_customer_submitted_with(
    app, client, auth, shop, order, reasons
):
    fill_until_review(client, order, reasons)
    key = submission_key(client)
    submit(client, key)
    req = db.session.scalar(select(ReturnRequest))
    old = req.public_token
    agent = make_user("agent@example.com", shop)
    db.session.commit()
    someone = app.test_client()  # whoever finds the old key in a browser's history
    assert "/status/" in submit(someone, key).location  # before renewal the key leads there

    auth.login(agent.email)
    client.post(f"/admin/requests/{req.id}/act", data={"action": "renew_link"})

    db.session.refresh(req)
    for path in ("/returns/demo/review", "/returns/demo/withdraw"):
        answer = someone.post(path, data={"submission_key": key})
        assert "/status/" not in answer.headers.get("Location", "")
        assert req.public_token not in answer.get_data(as_text=True)
    assert someone.get(f"/returns/demo/status/{old}").status_code == 404
    assert someone.get(f"/returns/demo/status/{old}/label").status_code == 404
    assert someone.post(f"/returns/demo/status/{old}/reply", data={"body": "hi"}).status_code == 404
    assert someone.get(f"/returns/demo/status/{req.public_token}").status_code == 200


# --- redirects and back links: only to a path on this site ------------------------------------

FOREIGN_TARGETS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)//",
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil",
    "/\t/evil.example",
    " //evil.example",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.fixture
def agent_on_request(client, auth, shop, order, agent):
    """The ``agent``, logged in, and a request on the ``order``."""
    req = submitted_request(shop, order)
    db.session.commit()
    auth.login(agent.email)
    return agent, req


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_request_actions_never_redirect_to_another_site(client, agent_on_request, target):
    _agent, req = agent_on_request
    response = client.post(
        f"/admin/requests/{req.id}/act", data={"action": "concept", "next": target}
    )
    assert response.headers["Location"] == f"/admin/requests/{req.id}"


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_return_actions_never_redirect_to_another_site(client, agent_on_request, target):
    from models import Return

    _agent, req = agent_on_request
    workflow.approve(req, _agent)
    return_ = Return(number="RT-1", shop=req.shop, request=req, carrier="own")
    db.session.add(return_)
    db.session.commit()
    response = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "in_transit", "next": target}
    )
    assert response.headers["Location"] == f"/admin/returns/{return_.id}"


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_login_never_redirects_to_another_site(client, shop, target):
    make_user("agent@example.com", shop)
    db.session.commit()
    response = client.post(
        "/login", data={"email": "agent@example.com", "password": "secret-pw", "next": target}
    )
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_language_switch_never_redirects_to_another_site(client, target):
    response = client.post("/language", data={"lang": "nl", "next": target})
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_bulk_progress_page_links_back_only_to_this_site(client, agent_on_request, target):
    from models import BulkJob

    agent, req = agent_on_request
    job = BulkJob(actor=agent, action="approve", request_ids=[req.id], total=1, status="done")
    db.session.add(job)
    db.session.commit()
    page = client.get(f"/admin/requests/bulk/{job.id}", query_string={"back": target}).text
    [back] = re.findall(r'<a class="btn btn-secondary" href="([^"]*)">Back to the list</a>', page)
    assert back == "/admin/requests/"
    assert "evil.example" not in page and "alert(1)" not in page


def test_same_site_targets_are_kept(client, agent_on_request):
    _agent, req = agent_on_request
    listing = "/admin/requests/?flt0_status=open&sort=2"
    response = client.post(
        f"/admin/requests/{req.id}/act", data={"action": "concept", "next": listing}
    )
    assert response.headers["Location"] == listing
    response = client.post(
        "/language", data={"lang": "en"}, headers={"Referer": f"http://localhost{listing}"}
    )
    assert response.headers["Location"] == listing


def test_order_lookup_does_not_tell_whether_an_order_number_exists(client, order):
    existing = lookup(client, order.number, "wrong@example.com")
    missing = lookup(client, "999999", "wrong@example.com")
    assert existing.status_code == missing.status_code == 200

    def without_number(response, number):
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.text).replace(number, "N")

    assert without_number(existing, order.number) == without_number(missing, "999999")


def test_order_lookup_is_rate_limited(client, order):
    statuses = [lookup(client, f"guess-{i}", "x@example.com").status_code for i in range(25)]
    assert statuses[0] == 200 and statuses[-1] == 429


@pytest.fixture
def app_behind_proxy(migrated, smtp_sink, tmp_path):
    """The app behind one reverse proxy, which sets X-Forwarded-For."""
    config = app_config(migrated, smtp_sink, tmp_path / "storage")
    config["TRUSTED_PROXIES"] = 1
    app = create_app(config)
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        empty_all_tables()


def guesses_until_limited(client, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    for guess in range(1, 30):
        data = {"order_number": f"guess-{guess}", "email_or_postcode": "x@example.com"}
        if client.post("/returns/demo/", data=data, headers=headers).status_code == 429:
            return guess
    return 0


def test_behind_a_proxy_each_customer_is_limited_by_their_own_address(app_behind_proxy):
    make_shop()
    db.session.commit()
    client = app_behind_proxy.test_client()
    first = guesses_until_limited(client, "203.0.113.7")
    assert first > 1
    assert guesses_until_limited(client, "198.51.100.23") == first, (
        "another customer behind the same proxy is not locked out"
    )


def test_without_a_trusted_proxy_a_forged_address_does_not_escape_the_limit(client, order):
    first = guesses_until_limited(client, "203.0.113.7")
    assert first > 1
    assert guesses_until_limited(client, "198.51.100.23") == 1


# --- uploads --------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("1", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


HOSTILE_UPLOADS = {
    "page.html": b"<!doctype html><html><script>alert(1)</script></html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "image.svg.jpg": b'<?xml version="1.0"?><svg onload="alert(1)"></svg>',
    "notes.exe": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64,
    "bomb.png": png_claiming(100_000, 100_000),
    "../../etc/passwd.jpg": b"root:x:0:0:root:/root:/bin/bash\n",
    "IMG_0001.HEIC": HEIC_HEADER + b"<html><script>alert(1)</script></html>" * 20,
    "empty.heic": HEIC_HEADER + b"\x00" * 64,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_UPLOADS))
def test_hostile_photo_uploads_are_refused_without_storing(app, client, order, reasons, name):
    line_id = at_details(client, order)
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [(name, HOSTILE_UPLOADS[name])]
    )
    assert response.status_code == 200
    assert b"photo" in response.data or b"pixels" in response.data
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored_files(app) == []


def test_decompression_bomb_is_refused_by_check_upload():
    with pytest.raises(storage.UploadRejected, match="dimensions"):
        storage.check_upload(png_claiming(60_000, 60_000), storage.IMAGE_TYPES, 10**7)


def test_polyglot_jpeg_is_stored_as_jpeg_under_a_random_key_and_never_served_as_html(
    app, client, auth, shop, order, reasons
):
    polyglot = jpeg_bytes() + b"<html><script>alert(1)</script></html>"
    line_id = at_details(client, order)
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [("../../evil.jpg", polyglot)]
    )
    assert response.status_code == 302
    photo = db.session.scalar(select(Attachment))
    assert photo.content_type == "image/jpeg"
    assert "/" not in photo.original_name and ".." not in photo.original_name
    assert [p.name for p in stored_files(app)] == [photo.storage_key]
    assert "evil" not in photo.storage_key

    req = submitted_request(shop, order)
    photo.request_id = req.id
    make_user("agent@example.com", shop)
    db.session.commit()
    auth.login("agent@example.com")
    served = client.get(f"/admin/requests/{req.id}/photo/{photo.id}")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]


def test_oversized_body_gets_a_friendly_413_and_nothing_stored(app, client, order, reasons):
    line_id = at_details(client, order)
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [("big.jpg", b"x" * 200_000)]
    )
    assert response.status_code == 413
    assert b"<html" in response.data.lower()
    assert stored_files(app) == []


# --- injection ------------------------------------------------------------------------------


def test_customer_script_is_escaped_in_admin_portal_and_every_email(
    client, auth, shop, order, smtp_sink
):
    agent = make_user("agent@example.com", shop)
    req = submitted_request(shop, order, customer_name=SCRIPT, exchange_note=SCRIPT, language="en")
    req.lines[0].comment = SCRIPT
    db.session.commit()
    workflow.approve(req, agent)
    db.session.commit()

    auth.login(agent.email)
    pages = {
        "request page": client.get(f"/admin/requests/{req.id}").text,
        "list": client.get("/admin/requests/?all=1").text,
        "status page": client.get(f"/returns/demo/status/{req.public_token}").text,
    }
    for where, html in pages.items():
        assert SCRIPT not in html, where
    assert "&lt;script&gt;" in pages["request page"] and "&lt;script&gt;" in pages["list"]
    assert smtp_sink.messages, "approving emailed the customer"
    for message in smtp_sink.messages:
        html_part = message.get_body(("html",))
        assert SCRIPT not in html_part.get_content()


SQL_METACHARACTERS = ["' OR 1=1 --", '"; DROP TABLE return_request; --', "%", "_", "\\", "'"]


@pytest.mark.parametrize("term", SQL_METACHARACTERS)
def test_search_and_filters_with_sql_metacharacters_behave(client, auth, shop, term):
    other = make_shop("fashion", "Mode Huis")
    submitted_request(other, make_order(other, **PORTAL_ORDER | {"number": "F-1"}))
    submitted_request(shop, make_order(shop, **PORTAL_ORDER))
    make_user("agent@example.com", shop)
    db.session.commit()
    auth.login("agent@example.com")
    for url in (
        f"/admin/requests/?all=1&search={term}",
        f"/admin/requests/?flt0_status={term}",
        f"/admin/orders/?search={term}",
        f"/admin/requests/export/csv?all=1&search={term}",
    ):
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 400), url
        assert "F-1" not in response.text, url
    assert db.session.scalar(select(func.count()).select_from(ReturnRequest)) == 2


def test_csv_export_neutralises_formulas(client, auth, shop, order):
    submitted_request(shop, order, customer_name='=HYPERLINK("http://evil.example","x")')
    make_user("agent@example.com", shop)
    db.session.commit()
    auth.login("agent@example.com")
    body = client.get("/admin/requests/export/csv?all=1").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells if cell)
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)


# --- sessions and headers -------------------------------------------------------------------


@pytest.fixture
def csrf_app(migrated, smtp_sink, tmp_path):
    """The app as in production: CSRF on, Secure cookies."""
    config = app_config(migrated, smtp_sink, tmp_path / "storage")
    config.update(WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        empty_all_tables()


def test_every_state_changing_form_needs_the_csrf_token(csrf_app):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin", is_support=True)
    customer_token = submitted_request(shop, make_order(shop, **PORTAL_ORDER)).public_token
    db.session.commit()
    client = csrf_app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "admin@example.com", "password": "secret-pw"})
    logged_in = client.post(
        "/login", data={"email": "admin@example.com", "password": "secret-pw", "csrf_token": token}
    )
    assert logged_in.status_code == 302

    refused, accepted = [], []
    before = database_snapshot()
    for rule in csrf_app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint.startswith(("api.", "platform_webhooks.")):
            # The API authenticates with bearer keys and the shops' platforms sign their
            # webhooks (tests/test_woocommerce_orders.py), never with cookies.
            continue
        url = rule.rule
        for name in rule.arguments:
            value = "1" if "id" in name else "demo" if "slug" in name else "x"
            if name == "token":
                value = customer_token  # a real customer link: the CSRF check must refuse
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", value, url)
        response = client.post(url, data={"action": "approve", "id": "1"})
        # The portal sends a customer whose form expired back to the same step (a reply: back
        # to the conversation), with a note; the database check below proves nothing happened.
        location = response.headers.get("Location", "")
        expired = response.status_code == 302 and location.endswith((url, "#conversation"))
        outcome = refused if response.status_code == 400 or expired else accepted
        outcome.append(f"{url} {response.status_code}")
    assert database_snapshot() == before
    assert not accepted, "posted without a CSRF token and not refused:\n" + "\n".join(accepted)
    assert len(refused) > 40


def test_session_cookie_is_secure_when_configured(csrf_app):
    make_user("agent@example.com", make_shop())
    db.session.commit()
    client = csrf_app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": "agent@example.com", "password": "secret-pw", "csrf_token": token.group(1)},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags


def test_login_is_throttled_after_repeated_failures(client, auth, shop):
    make_user("agent@example.com", shop)
    db.session.commit()
    for _ in range(6):
        auth.login("agent@example.com", "wrong")
    response = auth.login("agent@example.com")
    assert response.status_code != 302, "the right password is refused while locked"


def test_security_headers_on_every_kind_of_html_page(client, auth, shop, order):
    req = submitted_request(shop, order)
    make_user("agent@example.com", shop)
    db.session.commit()
    pages = ["/login", "/returns/demo/", f"/returns/demo/status/{req.public_token}"]
    for url in pages[:2]:
        check_headers(client.get(url), url)
    check_headers(client.get(pages[2]), pages[2])
    auth.login("agent@example.com")
    for url in ["/admin/requests/?all=1", f"/admin/requests/{req.id}", "/admin/", "/account"]:
        check_headers(client.get(url, follow_redirects=True), url)


def check_headers(response, url: str) -> None:
    assert response.status_code == 200, url
    assert response.mimetype == "text/html", url
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["Referrer-Policy"] == "same-origin", url
    assert response.headers["X-Frame-Options"] == "DENY", url


# --- fuzzing the portal forms ---------------------------------------------------------------

wild_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\x00", "0", "-1", "1e309", "%00", SCRIPT, "' OR 1=1 --"]),
    st.text(min_size=1, max_size=5).map(lambda s: s * 4_000),
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(number=wild_text, secret=wild_text, quantity=wild_text, reason=wild_text, note=wild_text)
def test_portal_forms_never_answer_500_to_random_input(
    app, client, order, reasons, number, secret, quantity, reason, note
):
    app.config["PORTAL_LOOKUP_LIMIT_PER_IP"] = "100000 per minute"
    app.config["PORTAL_LOOKUP_LIMIT_PER_ORDER"] = "100000 per minute"
    line_id = order.lines[0].id
    assert lookup(client, number, secret).status_code < 500
    assert lookup(client, order.number, "klant@example.com").status_code == 302
    answers = [
        client.post(
            "/returns/demo/items", data={f"line-{line_id}": "1", f"qty-{line_id}": quantity}
        ),
        client.post("/returns/demo/items", data={f"line-{line_id}": "1", f"qty-{line_id}": "1"}),
        client.post(
            "/returns/demo/details",
            data={f"reason-{line_id}": reason, f"comment-{line_id}": note},
        ),
        client.post("/returns/demo/resolution", data={"resolution": reason, "exchange_note": note}),
        client.post("/returns/demo/review", data={"submission_key": note}),
    ]
    assert all(response.status_code < 500 for response in answers)


def test_schemathesis_api_fuzzing_runs_in_this_suite():
    """The API fuzzing lives in test_api_schemathesis.py, collected by CI's plain ``pytest``."""
    assert Path(__file__).with_name("test_api_schemathesis.py").exists()


def test_nul_bytes_in_a_form_are_refused_not_a_500(client, order):
    assert lookup(client, "10\x0001", "klant@example.com").status_code == 400
    assert client.get("/returns/demo/?intent=\x00").status_code == 400


POLYGLOT = jpeg_bytes() + b"<html><script>alert(1)</script></html>"


def test_real_heic_photo_is_decoded_and_accepted(app, client, order, reasons):
    line_id = at_details(client, order)
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [("IMG_0002.HEIC", image_bytes("HEIF"))]
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Attachment.content_type)) == "image/heic"


def test_polyglot_photo_uploaded_as_html_is_shown_as_a_jpeg_named_jpg(
    app, client, auth, shop, order, reasons
):
    line_id = at_details(client, order)
    response = give_details(client, [line_id], reasons["damaged"], "Kapot", [("x.html", POLYGLOT)])
    assert response.status_code == 302
    photo = db.session.scalar(select(Attachment))
    photo.request_id = submitted_request(shop, order).id
    make_user("agent@example.com", shop)
    db.session.commit()
    auth.login("agent@example.com")

    served = client.get(f"/admin/requests/{photo.request_id}/photo/{photo.id}")

    assert served.mimetype == "image/jpeg"
    assert served.headers["Content-Disposition"] == "inline; filename=x.jpg"


def test_polyglot_sent_as_html_in_a_reply_downloads_as_a_jpg_attachment(
    app, client, auth, shop, order
):
    req = submitted_request(shop, order)
    make_user("agent@example.com", shop)
    db.session.commit()
    reply = client.post(
        f"/returns/demo/status/{req.public_token}/reply",
        data={"body": "See the photo", "files": [(io.BytesIO(POLYGLOT), "x.html")]},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 302
    attachment = db.session.scalar(select(Attachment))
    auth.login("agent@example.com")

    served = client.get(f"/admin/requests/{req.id}/attachment/{attachment.id}")

    assert served.mimetype == "image/jpeg"
    assert served.headers["Content-Disposition"] == "attachment; filename=x.jpg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_polyglot_a_colleague_sends_as_html_reaches_the_customer_as_a_jpg(
    app, client, auth, shop, order, smtp_sink
):
    req = submitted_request(shop, order)
    make_user("agent@example.com", shop)
    db.session.commit()
    auth.login("agent@example.com")
    sent = client.post(
        f"/admin/requests/{req.id}/message",
        data={
            "body": "Your label",
            "kind": "customer",
            "files": [(io.BytesIO(POLYGLOT), "x.html")],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302

    (email,) = smtp_sink.to(req.customer_email)
    (attached,) = list(email.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("x.jpg", "image/jpeg")
    attachment = db.session.scalar(select(Attachment))
    download = client.get(f"/returns/demo/status/{req.public_token}/attachment/{attachment.id}")
    assert download.headers["Content-Disposition"] == "attachment; filename=x.jpg"
