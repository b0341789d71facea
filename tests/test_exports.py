"""Exports of the Requests list: CSV and Excel, the list's filters and columns, streamed."""

from __future__ import annotations

import csv
import io
import re
import secrets
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from flask_login import login_user
from openpyxl import load_workbook
from sqlalchemy import insert

from domain import workflow
from extensions import db
from factories import make_order, make_request, make_shop
from models import APPROVED, ReturnRequest, ReviewStage
from services import exports

HEADERS_EN = [
    "Number",
    "Date",
    "Customer",
    "Order",
    "Items",
    "Value",
    "Resolution",
    "Status",
    "Held by",
    "Notices",
    "Free shipping",
    "Customer replied",
]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def list_headers(page: str) -> list[str]:
    """The column headers of the Requests list page as a reader sees them."""
    cells = re.findall(r'<th class="column-header col-\w+">(.*?)</th>', page, re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in cells]


def test_csv_has_the_lists_columns_and_the_filtered_requests(client, auth, shop, anna):
    order = make_order(shop, customer_name="Eva de Vries", number="WEB-1")
    held = make_request(shop, order=order, created_at=datetime(2026, 10, 6, 9, 30, tzinfo=UTC))
    workflow.hold(held, anna)
    make_request(shop, status=APPROVED)
    db.session.commit()
    auth.login("anna@example.com")

    rows = read_csv(client.get("/admin/requests/export/csv?flt0_status=open"))

    assert rows[0] == HEADERS_EN
    assert rows[1:] == [
        [
            held.number,
            "2026-10-06 09:30",
            "Eva de Vries",
            "WEB-1",
            "2",
            "109.90",
            "Refund",
            "On hold",
            "Anna",
            "0",
            "",
            "",
        ]
    ]


def test_export_headers_are_those_of_the_list_in_the_users_language(client, auth, shop, anna):
    anna.language = "nl"
    stage = ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos requested")
    db.session.add(stage)
    request = make_request(shop)
    workflow.set_stage(request, anna, stage)
    db.session.commit()
    auth.login("anna@example.com")

    page = client.get("/admin/requests/?flt0_status=open").get_data(as_text=True)
    rows = read_csv(client.get("/admin/requests/export/csv?flt0_status=open"))
    sheet = read_xlsx(client.get("/admin/requests/export/xlsx?flt0_status=open"))

    assert rows[0] == list_headers(page)
    assert sheet[0] == list_headers(page)
    assert rows[1][7].endswith("(Foto's gevraagd)")
    assert sheet[1][7].endswith("(Foto's gevraagd)")


def test_english_user_gets_english_stage_names(client, auth, shop, anna):
    stage = ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos requested")
    db.session.add(stage)
    workflow.set_stage(make_request(shop), anna, stage)
    db.session.commit()
    auth.login("anna@example.com")
    rows = read_csv(client.get("/admin/requests/export/csv?flt0_status=open"))
    assert rows[1][7] == "New (Photos requested)"


def test_xlsx_has_the_same_rows_with_real_numbers_and_dates(client, auth, shop, anna):
    order = make_order(shop, customer_name="Eva de Vries", number="WEB-1")
    request = make_request(shop, order=order, created_at=datetime(2026, 10, 6, 9, 30, tzinfo=UTC))
    db.session.commit()
    auth.login("anna@example.com")

    sheet = read_xlsx(client.get("/admin/requests/export/xlsx?flt0_status=new"))

    assert sheet[0] == HEADERS_EN
    assert sheet[1][:6] == [
        request.number,
        datetime(2026, 10, 6, 9, 30),
        "Eva de Vries",
        "WEB-1",
        2,
        109.9,
    ]
    assert sheet[1][6:8] == ["Refund", "New"]


def test_export_respects_search_and_sort_and_never_shows_other_shops(client, auth, shop, anna):
    first = make_request(shop, order=make_order(shop, customer_name="Joris Peeters"))
    second = make_request(shop, order=make_order(shop, customer_name="Joris Jansen"))
    make_request(shop, order=make_order(shop, customer_name="Eva de Vries"))
    other = make_shop("fashion", "Mode Huis")
    make_request(other, order=make_order(other, customer_name="Joris Buiten"))
    db.session.commit()
    auth.login("anna@example.com")

    rows = read_csv(
        client.get("/admin/requests/export/csv?all=1&search=Joris&sort=0")  # sort by number
    )
    assert [row[0] for row in rows[1:]] == [first.number, second.number]

    shop_filter = read_csv(client.get(f"/admin/requests/export/csv?flt0_shop={other.id}"))
    assert shop_filter[1:] == []


def test_export_without_filter_is_the_open_list_as_the_list_opens(client, auth, shop, anna):
    new = make_request(shop)
    make_request(shop, status=APPROVED)
    db.session.commit()
    auth.login("anna@example.com")
    redirect = client.get("/admin/requests/export/csv")
    assert redirect.location == "/admin/requests/export/csv?flt0_status=open"
    rows = read_csv(client.get(redirect.location))
    assert [row[0] for row in rows[1:]] == [new.number]


def test_list_links_to_both_exports_with_its_current_filters(client, auth, shop, anna):
    db.session.commit()
    auth.login("anna@example.com")
    page = client.get("/admin/requests/?flt0_status=new&search=Eva").get_data(as_text=True)
    assert 'href="/admin/requests/export/csv?flt0_status=new&amp;search=Eva"' in page
    assert 'href="/admin/requests/export/xlsx?flt0_status=new&amp;search=Eva"' in page
    assert ">Export CSV<" in page and ">Export Excel<" in page


def test_unknown_format_is_not_found_and_strangers_are_sent_to_login(client, auth, shop, anna):
    db.session.commit()
    assert client.get("/admin/requests/export/csv?all=1").status_code == 302
    auth.login("anna@example.com")
    assert client.get("/admin/requests/export/pdf?all=1").status_code == 404


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example","x")', "+31 6", "-1+2", "@SUM(A1)", "\tx", "\rx"]
)
def test_formula_injection_is_neutralised(client, auth, shop, anna, name):
    make_request(shop, order=make_order(shop, customer_name=name))
    db.session.commit()
    auth.login("anna@example.com")

    rows = read_csv(client.get("/admin/requests/export/csv?all=1"))
    assert rows[1][2] == "'" + name

    sheet = load_workbook(
        io.BytesIO(client.get("/admin/requests/export/xlsx?all=1").get_data())
    ).active
    cell = sheet.cell(row=2, column=3)
    assert cell.data_type == "s"
    assert cell.value.strip() == name.strip()  # as typed (XML stores a CR as a newline)


def insert_requests(shop, order, count: int) -> None:
    """``count`` requests in one set-based insert (plain dicts, executemany)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "number": f"R-X-{n:07d}",
            "shop_id": shop.id,
            "order_id": order.id,
            "order_number": order.number,
            "customer_name": f"Klant nummer {n}",
            "customer_email": f"klant{n}@example.nl",
            "language": "nl",
            "status": "new",
            "resolution": "refund",
            "answers": {},
            "public_token": secrets.token_hex(16),
            "total_cents": 4995,
            "item_count": 1,
            "created_at": start + timedelta(seconds=n),
            "updated_at": start,
        }
        for n in range(count)
    ]
    db.session.execute(insert(ReturnRequest), rows)
    db.session.commit()


def test_a_100000_row_export_streams_with_flat_memory(client, auth, shop, anna):
    insert_requests(shop, make_order(shop), 100_000)
    auth.login("anna@example.com")

    tracemalloc.start()
    try:
        response = client.get("/admin/requests/export/csv?flt0_status=new")
        received = rows = 0
        warmed_up = None
        for chunk in response.response:
            received += len(chunk)
            rows += chunk.count(b"\n")
            if warmed_up is None and rows >= 10_000:
                _current, warmed_up = tracemalloc.get_traced_memory()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert rows == 100_001
    # The file is ~8 MB and the rows as objects far more: holding either would break the
    # bound. Flat: after the first 10,000 rows the peak hardly grows over the next 90,000.
    assert received > 7_000_000
    assert peak < 4_000_000, f"peak {peak} bytes for {received} bytes exported"
    assert peak - warmed_up < 500_000, f"peak grew from {warmed_up} to {peak} bytes"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_any_shop_scoped_list_can_be_exported_with_its_search_and_tenancy(app, shop, anna, fmt):
    """The generic path the Returns list will use: ``exports.export_view(view, fmt, name)``."""
    make_order(shop, number="WEB-1", customer_name="Eva de Vries")
    make_order(shop, number="WEB-2", customer_name="Joris Peeters")
    other = make_shop("fashion", "Mode Huis")
    make_order(other, number="WEB-3", customer_name="Anna de Vries")
    db.session.commit()
    orders = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "orders")

    with app.test_request_context("/admin/orders/?search=Vries"):
        login_user(anna)
        response = exports.export_view(orders, fmt, "orders")
        body = response.get_data()

    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        rows = [list(r) for r in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Order number", "Shop", "Customer"]
    assert [row[:3] for row in rows[1:]] == [["WEB-1", "Demo Winkel", "Eva de Vries"]]
