"""A host may turn the rate limits off (``RATELIMIT_ENABLED=false``, e.g. behind a proxy that
limits already): staff still log in, and a failed login before does not break the next one."""

from __future__ import annotations

import pytest

from app import create_app
from extensions import db, limiter
from factories import make_shop, make_user
from harness import AuthActions, app_config


@pytest.fixture
def app_without_limits(migrated, smtp_sink, tmp_path, monkeypatch):
    """As in a process whose only app has the limits off: Flask-Limiter never built its
    limiter (the shared test app did, on the same extension object)."""
    monkeypatch.setattr(limiter, "_limiter", None)
    config = app_config(migrated, smtp_sink, tmp_path / "storage") | {"RATELIMIT_ENABLED": False}
    return create_app(config)


def test_staff_log_in_with_the_limits_turned_off(app, app_without_limits):
    make_user("anna@example.com", make_shop(), name="Anna")
    db.session.commit()
    auth = AuthActions(app_without_limits.test_client())

    assert auth.login("anna@example.com", "wrong-password").status_code == 200
    answer = auth.login("anna@example.com")

    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/admin/")
