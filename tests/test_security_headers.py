"""Every page tells the browser to stay strict; the session cookie is out of reach of scripts."""

from conftest import make_shop, make_user
from extensions import db


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
