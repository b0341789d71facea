import pytest

from extensions import db
from factories import make_shop, make_user


@pytest.mark.browser
def test_agent_logs_in_through_the_browser(page, live_server):
    shop = make_shop()
    make_user("agent@example.com", shop, name="Anna")
    db.session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email address").fill("agent@example.com")
    page.get_by_label("Password").fill("secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    assert "Demo Winkel" in page.content()
