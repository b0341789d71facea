from conftest import make_shop, make_user
from extensions import db


def test_staff_logs_in_and_sees_request_counts_of_own_shop(client, auth):
    shop = make_shop()
    make_user("agent@example.com", shop)
    db.session.commit()
    assert client.get("/admin/").status_code == 302
    response = auth.login("agent@example.com")
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"Demo Winkel" in page.data
