"""Order import from CSV: errors per row, upsert by order number, the admin upload and the CLI."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from factories import make_shop, make_user
from models import Order, ReturnRequest, ReturnRequestLine, next_request_number, utcnow
from services import import_previews, order_import
from storage_backends import down_store

HEADER = ",".join(order_import.CSV_COLUMNS)


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def row(number="1001", sku="SHIRT", quantity="1", price="29.95", email="anna@example.com", **kw):
    values = {
        "order_number": number,
        "ordered_at": "2026-03-01",
        "delivered_at": kw.pop("delivered_at", "2026-03-03T12:00:00+01:00"),
        "customer_name": "Anna de Vries",
        "customer_email": email,
        "customer_postcode": "1234 AB",
        "customer_country": "nl",
        "customer_language": "nl",
        "sku": sku,
        "product_name": kw.pop("product_name", sku.title()),
        "variant": kw.pop("variant", ""),
        "quantity": quantity,
        "unit_price": price,
        "discount": kw.pop("discount", ""),
        "image_url": "",
        "tags": kw.pop("tags", ""),
        "returnable": kw.pop("returnable", ""),
        "variant_options": kw.pop("variant_options", ""),
        "mollie_payment_id": kw.pop("mollie_payment_id", ""),
    }
    return ",".join(values[c] for c in order_import.CSV_COLUMNS)


def parse(text: str) -> order_import.ParsedImport:
    return order_import.parse_csv(io.StringIO(text, newline=""))


def import_text(shop, text: str) -> order_import.ImportResult:
    _, result = order_import.import_csv(shop.id, io.StringIO(text, newline=""))
    db.session.commit()
    return result


def orders_of(shop) -> list[Order]:
    db.session.expire_all()
    return db.session.scalars(
        select(Order).where(Order.shop_id == shop.id).order_by(Order.number)
    ).all()


def test_preview_lists_each_bad_row_with_its_columns_and_skips_that_order():
    parsed = parse(
        csv_text(
            row("1001", "SHIRT"),
            row("1001", "SOCKS", quantity="2", price="5.95", discount="1.00"),
            row("1002", "HAT", quantity="none", email="not-an-email"),
            row("1002", "SCARF"),
            row("1003", "BELT", price="-1"),
        )
    )
    assert parsed.row_count == 5
    assert [(e.line, e.order_number) for e in parsed.errors] == [(4, "1002"), (6, "1003")]
    assert {column for column, _ in parsed.errors[0].problems} == {"quantity", "customer_email"}
    assert [column for column, _ in parsed.errors[1].problems] == ["unit_price"]
    assert parsed.skipped_orders == {"1002", "1003"}
    [order] = parsed.orders
    assert order.number == "1001"
    assert order.customer_country == "NL"
    assert [(line.sku, line.quantity, line.unit_price_cents) for line in order.lines] == [
        ("SHIRT", 1, 2995),
        ("SOCKS", 2, 595),
    ]
    assert order.lines[1].discount_cents == 100


def test_missing_columns_are_reported_on_the_header_line():
    parsed = parse("order_number,sku\n1001,SHIRT\n")
    [error] = parsed.errors
    assert error.line == 1
    assert ("customer_email", "missing column") in error.problems
    assert parsed.orders == []


def test_rows_of_one_order_with_different_customers_are_an_error():
    other = row("1001", "SOCKS").replace("Anna de Vries", "Bert Jansen")
    parsed = parse(csv_text(row("1001", "SHIRT"), other))
    assert parsed.errors[0].problems == [("customer_name", "differs from the order's first row")]
    assert parsed.orders == []


def test_semicolon_separated_file_with_byte_order_mark_is_read():
    text = csv_text(row("1001")).replace(",", ";")
    parsed = order_import.parse_csv_bytes(("\ufeff" + text).encode())
    assert parsed.errors == []
    assert parsed.orders[0].number == "1001"


def test_import_creates_orders_then_updates_them_by_number(app):
    shop = make_shop()
    other_shop = make_shop("other", "Other")
    import_text(other_shop, csv_text(row("1001", "OTHER")))

    first = import_text(shop, csv_text(row("1001", "SHIRT"), row("1001", "SOCKS"), row("1002")))
    assert (first.created, first.updated) == (2, 0)

    second = import_text(
        shop,
        csv_text(
            row("1001", "SHIRT", price="24.95", delivered_at=""),
            row("1001", "HAT", delivered_at=""),
            row("1003", "BELT"),
        ),
    )
    assert (second.created, second.updated) == (1, 1)
    orders = orders_of(shop)
    assert [o.number for o in orders] == ["1001", "1002", "1003"]
    updated = orders[0]
    assert updated.delivered_at is None
    assert [(line.sku, line.unit_price_cents) for line in updated.lines] == [
        ("SHIRT", 2495),
        ("HAT", 2995),
    ]
    assert [line.sku for line in orders_of(other_shop)[0].lines] == ["OTHER"]


def test_reimport_keeps_lines_that_a_request_refers_to(app):
    shop = make_shop()
    import_text(shop, csv_text(row("1001", "SHIRT"), row("1001", "SOCKS")))
    order = orders_of(shop)[0]
    socks = order.lines[1]
    db.session.add(
        ReturnRequest(
            number=next_request_number(),
            shop=shop,
            order=order,
            order_number=order.number,
            customer_name=order.customer_name,
            customer_email=order.customer_email,
            lines=[ReturnRequestLine(order_line=socks, quantity=1)],
        )
    )
    db.session.commit()

    import_text(shop, csv_text(row("1001", "SHIRT")))
    assert [line.sku for line in orders_of(shop)[0].lines] == ["SHIRT", "SOCKS"]


def test_cli_imports_a_file_for_the_named_shop(app, runner, tmp_path):
    shop = make_shop("demo")
    db.session.commit()
    path = tmp_path / "orders.csv"
    path.write_text(csv_text(row("1001"), row("1002")))
    result = runner.invoke(args=["orders", "import", str(path), "--shop", "demo"])
    assert result.exit_code == 0, result.output
    assert "2 orders created, 0 updated" in result.output
    assert [o.number for o in orders_of(shop)] == ["1001", "1002"]


def test_cli_reports_bad_rows_and_fails_but_imports_good_orders(app, runner, tmp_path):
    shop = make_shop("demo")
    db.session.commit()
    path = tmp_path / "orders.csv"
    path.write_text(csv_text(row("1001"), row("1002", quantity="0")))
    result = runner.invoke(args=["orders", "import", str(path), "--shop", "demo"])
    assert result.exit_code == 1
    assert "line 3 (1002): quantity:" in result.output
    assert [o.number for o in orders_of(shop)] == ["1001"]


def test_cli_refuses_an_unknown_shop(app, runner, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(csv_text(row("1001")))
    result = runner.invoke(args=["orders", "import", str(path), "--shop", "nope"])
    assert result.exit_code != 0
    assert "No shop with slug 'nope'" in result.output


def upload(client, shop, text: str):
    return client.post(
        "/admin/order_import/preview",
        data={"shop_id": shop.id, "file": (io.BytesIO(text.encode()), "orders.csv")},
        content_type="multipart/form-data",
    )


def test_admin_previews_errors_then_imports_the_good_orders(app, client, auth):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")

    preview = upload(client, shop, csv_text(row("1001"), row("1002", email="nope")))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "<code>customer_email</code>" in html
    assert "1 new orders" in html
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0

    done = client.post("/admin/order_import/import")
    assert done.status_code == 302
    assert [o.number for o in orders_of(shop)] == ["1001"]
    assert client.post("/admin/order_import/import").status_code == 302
    assert len(orders_of(shop)) == 1


def test_admin_cannot_import_into_a_shop_they_do_not_administer(app, client, auth):
    shop = make_shop("a", "Shop A")
    other = make_shop("b", "Shop B")
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    upload(client, other, csv_text(row("1001")))
    client.post("/admin/order_import/import")
    assert orders_of(other) == []


def test_agent_cannot_open_the_order_import(app, client, auth):
    shop = make_shop()
    make_user("agent@example.com", shop, role="agent")
    db.session.commit()
    auth.login("agent@example.com")
    assert client.get("/admin/order_import/").status_code == 403


# --- the preview waits in the file store -------------------------------------------------------


def test_the_import_finds_its_preview_from_another_instance(app, client, auth, backend, tmp_path):
    """Behind a load balancer the import may reach another instance than the preview: the
    file waits in the shared store, not on the instance's own disk."""
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    upload(client, shop, csv_text(row("1001"), row("1002")))
    assert {key for key in backend.stored() if key.startswith("order-import-")}

    if backend.kind == "s3":  # another instance: its own disk, the same bucket
        app.config["STORAGE_DIR"] = str(tmp_path / "another-instance")
    done = client.post("/admin/order_import/import")

    assert done.status_code == 302
    assert [o.number for o in orders_of(shop)] == ["1001", "1002"]
    assert not {key for key in backend.stored() if key.startswith("order-import-")}


def test_a_preview_left_unimported_is_swept_after_a_day(app, client, auth, backend):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    upload(client, shop, csv_text(row("1001")))
    [kept] = [key for key in backend.stored() if key.startswith("order-import-")]

    assert import_previews.sweep_abandoned() == 0, "a fresh preview stays"
    later = utcnow() + import_previews.KEPT_FOR + timedelta(minutes=1)
    assert import_previews.sweep_abandoned(later) == 1

    assert kept not in backend.stored()
    expired = client.post("/admin/order_import/import", follow_redirects=True)
    assert "the preview has expired" in expired.get_data(as_text=True)
    assert orders_of(shop) == []


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_a_store_that_is_down_refuses_the_preview_clearly(
    app, client, auth, monkeypatch, tmp_path, kind
):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    db.session.commit()
    auth.login("admin@example.com")
    down_store(app, kind, monkeypatch, tmp_path)

    refused = upload(client, shop, csv_text(row("1001")))

    assert refused.status_code == 302
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "The file could not be kept for the import. Please try again." in page
    assert client.post("/admin/order_import/import").status_code == 302
    assert orders_of(shop) == []
