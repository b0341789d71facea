"""A customer never meets a bare framework error page: under /returns/… an error carries the
shop's name, colour and language, and the way on; the API keeps its problem documents."""

from __future__ import annotations

import pytest

from app import create_app
from extensions import db
from harness import app_config


@pytest.fixture
def branded(shop):
    shop.brand_color = "#aa3366"
    db.session.commit()
    return shop


def test_an_unknown_status_link_is_a_branded_page_with_the_way_on(client, branded):
    answer = client.get("/returns/demo/status/not-a-token?lang=en")
    page = answer.get_data(as_text=True)

    assert answer.status_code == 404
    assert "<title>Page not found · Demo Winkel</title>" in page
    assert "--brand: #aa3366" in page
    assert "the newest email from the shop has the current one" in page
    assert 'href="/returns/demo/" id="error-way-on"' in page
    assert "The requested URL was not found on the server" not in page


def test_a_renewed_label_link_speaks_the_customers_language(client, branded):
    answer = client.get("/returns/demo/status/old-token/label", headers={"Accept-Language": "nl"})
    page = answer.get_data(as_text=True)

    assert answer.status_code == 404
    assert '<html lang="nl">' in page
    assert "Deze pagina of link bestaat niet (meer)." in page
    assert "Zoek je bestelling en start een retour bij Demo Winkel" in page


def test_a_path_the_portal_does_not_have_is_branded_too(client, branded):
    answer = client.get("/returns/demo/nothing-here?lang=en")

    assert answer.status_code == 404
    assert "Page not found · Demo Winkel" in answer.get_data(as_text=True)


def test_an_unknown_shop_still_gets_a_page_in_words(client):
    answer = client.get("/returns/no-such-shop/?lang=nl")
    page = answer.get_data(as_text=True)

    assert answer.status_code == 404
    assert "Pagina niet gevonden" in page
    assert "error-way-on" not in page


def test_the_api_keeps_answering_with_problem_documents(client):
    answer = client.get("/api/v1/no-such-thing")

    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"


@pytest.fixture
def app_with_a_failing_page(migrated, smtp_sink, tmp_path):
    """An app of its own: the shared one takes no new routes once it has served a request."""

    def fails(slug: str):
        raise RuntimeError("a bug")

    app = create_app(app_config(migrated, smtp_sink, tmp_path / "storage"))
    app.add_url_rule("/returns/<slug>/fails", "fails", fails)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_failure_on_our_side_is_a_branded_page_too(app_with_a_failing_page, branded):
    answer = app_with_a_failing_page.test_client().get("/returns/demo/fails?lang=en")
    page = answer.get_data(as_text=True)

    assert answer.status_code == 500
    assert "Something went wrong on our side. Please try again in a moment." in page
    assert "Demo Winkel" in page
