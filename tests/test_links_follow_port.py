"""The links in emails lead to the port `make run` serves: `PORT=8080 make run` gives
http://127.0.0.1:8080/… links, and PUBLIC_URL (behind a proxy) still wins."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from app import create_app
from extensions import db
from factories import make_shop, make_user
from harness import app_config, empty_all_tables
from return_flow import approved_request, emails_to

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_on_port(migrated, smtp_sink, tmp_path, monkeypatch):
    """An app started as `make run` starts it: PORT in the environment, no PUBLIC_URL."""
    started = []

    def start(port: str, public_url: str | None = None):
        monkeypatch.setenv("PORT", port)
        if public_url:
            monkeypatch.setenv("PUBLIC_URL", public_url)
        else:
            monkeypatch.delenv("PUBLIC_URL", raising=False)
        config = app_config(migrated, smtp_sink, tmp_path / "storage")
        del config["PUBLIC_URL"]
        started.append(create_app(config))
        return started[-1]

    yield start
    for app in started:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()


def approval_email_links(app) -> list[str]:
    with app.app_context():
        shop = make_shop()
        agent = make_user("agent@example.com", shop)
        request = approved_request(shop, agent)
        [email] = emails_to(request.customer_email, "request_approved")
        links = re.findall(r"https?://[^\s\"'<>]+", email.body_text)
        db.session.remove()
        return links


def test_email_links_lead_to_the_port_make_run_serves(app_on_port):
    links = approval_email_links(app_on_port("8080"))
    assert links
    assert all(link.startswith("http://127.0.0.1:8080/returns/demo/status/") for link in links)


def test_public_url_behind_a_proxy_still_wins_over_the_port(app_on_port):
    links = approval_email_links(app_on_port("8080", "https://returns.example.com/"))
    assert links
    assert all(link.startswith("https://returns.example.com/returns/demo/") for link in links)


def test_make_run_passes_its_port_to_every_flask_command():
    printed = subprocess.run(
        ["make", "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    flask_lines = [line for line in printed.splitlines() if "/bin/flask" in line]
    assert [line.split("--app app ")[1].split()[0] for line in flask_lines] == [
        "db",
        "demo",
        "run",
    ]
    assert all(line.startswith("PORT=8080 ") for line in flask_lines)
    assert flask_lines[-1].endswith("run --host 127.0.0.1 --port 8080")
