"""Carrier adapters: the own-label PDF, tracking numbers, and Sendcloud against a stand-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from flask_babel import force_locale

from extensions import db
from factories import RETURN_ADDRESS, make_order, make_request, make_return, make_shop
from harness import free_port, need_service
from label_standins import LABEL_PDF, PUBLIC_KEY, SECRET_KEY, errors
from models import CarrierAccount
from services import labels
from services.labels import CarrierError, get_adapter

A6_POINTS = (297.64, 419.53)  # 105 × 148 mm
# The customer of order #1001, whose address the label shows as the sender's.
CUSTOMER_AT_HOME = {
    "number": "1001",
    "customer_name": "Anna de Vries",
    "customer_email": "anna@example.com",
    "customer_street": "Kerkstraat 12",
    "customer_postcode": "1017 GC",
    "customer_city": "Amsterdam",
    "delivered_days_ago": None,
}


def message_of(error: CarrierError, language: str = "en") -> str:
    """The error as a reader in ``language`` sees it (messages translate lazily)."""
    with force_locale(language):
        return str(error)


@pytest.fixture
def shipment(app):
    """A shop, an approved request of three units on two lines, and its return."""
    shop = make_shop(**RETURN_ADDRESS)
    order = make_order(
        shop,
        [
            {"product_name": "Linnen overhemd", "unit_price_cents": 4995, "quantity": 2},
            {"product_name": "Sokken", "unit_price_cents": 995},
        ],
        **CUSTOMER_AT_HOME,
    )
    request = make_request(
        shop, order, lines=[{"order_line": 0, "quantity": 2}, {"order_line": 1, "quantity": 1}]
    )
    return shop, request, make_return(request, number="RET-2026-00042")


# --- reading the PDF with the standard library only ---------------------------------------------


def page_size(pdf: bytes) -> tuple[float, float]:
    box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    return x1 - x0, y1 - y0


def content_streams(pdf: bytes) -> bytes:
    """Every stream of the PDF, undoing the ASCII85 and Flate filters reportlab uses."""
    decoded = []
    for header, data in re.findall(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        if b"ASCII85Decode" in header:
            data = base64.a85decode(data.strip().removesuffix(b"~>"), adobe=False)
        if b"FlateDecode" in header:
            data = zlib.decompress(data)
        decoded.append(data)
    return b"\n".join(decoded)


def shown_text(pdf: bytes) -> str:
    """The strings drawn with ``(...) Tj`` on the page."""
    strings = re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", content_streams(pdf))
    return "\n".join(s.decode("latin-1") for s in strings)


# --- own label ------------------------------------------------------------------------------------


def test_own_label_is_an_a6_pdf_with_tracking_and_return_numbers(shipment):
    shop, request, return_ = shipment

    result = get_adapter(shop, "own").create_label(return_, request, shop)

    assert result.pdf_bytes.startswith(b"%PDF-")
    assert result.pdf_bytes.rstrip().endswith(b"%%EOF")
    assert page_size(result.pdf_bytes) == pytest.approx(A6_POINTS, abs=0.1)
    text = shown_text(result.pdf_bytes)
    assert result.tracking_number in text
    assert "RET-2026-00042" in text
    assert result.qr_payload == result.tracking_number


def code128_text(symbols: list[int]) -> str:
    """Decode Code 128 symbol values (start B or C, code switches, checksum, stop) to text."""
    start, *data, checksum, stop = symbols
    assert stop == 106
    assert checksum == (start + sum(i * v for i, v in enumerate(data, 1))) % 103
    code_set, text = {104: "B", 105: "C"}[start], ""
    for value in data:
        if code_set == "C" and value == 100:
            code_set = "B"
        elif code_set == "B" and value == 99:
            code_set = "C"
        else:
            text += f"{value:02d}" if code_set == "C" else chr(value + 32)
    return text


def test_own_label_barcode_encodes_the_tracking_number():
    barcode = labels.code128_drawing("RD00100000007", width=250).contents[0]

    barcode.validate()
    barcode.encode()

    assert code128_text(barcode.encoded) == "RD00100000007"


def test_own_label_barcode_and_qr_decode_when_scanned(shipment, tmp_path):
    """Render the PDF as a printer would and scan it with zbar (poppler-utils, zbar-tools)."""
    tools = shutil.which("pdftoppm") and shutil.which("zbarimg")
    need_service("pdftoppm and zbarimg (apt: poppler-utils zbar-tools)", bool(tools))
    shop, request, return_ = shipment
    result = get_adapter(shop, "own").create_label(return_, request, shop)
    (tmp_path / "label.pdf").write_bytes(result.pdf_bytes)

    subprocess.run(["pdftoppm", "-r", "200", "-png", "label.pdf", "page"], cwd=tmp_path, check=True)
    scan = subprocess.run(
        ["zbarimg", "-q", str(next(tmp_path.glob("page*.png")))],
        capture_output=True,
        text=True,
        check=True,
    )

    assert set(scan.stdout.split()) == {
        f"CODE-128:{result.tracking_number}",
        f"QR-Code:{result.qr_payload}",
    }


def test_own_label_shows_both_addresses_and_the_item_count(shipment, tmp_path):
    """The text a person reads on the printed label, extracted by poppler's pdftotext."""
    need_service("pdftotext (apt: poppler-utils)", bool(shutil.which("pdftotext")))
    need_service("DejaVu fonts (apt: fonts-dejavu-core)", Path(labels.UNICODE_FONTS[0][0]).exists())
    shop, request, return_ = shipment
    request.language = "en"
    request.order.customer_name = "Łukasz Şükrü de Vries"
    result = get_adapter(shop, "own").create_label(return_, request, shop)
    (tmp_path / "label.pdf").write_bytes(result.pdf_bytes)

    text = subprocess.run(
        ["pdftotext", "-layout", "label.pdf", "-"], cwd=tmp_path, capture_output=True, text=True
    ).stdout

    for expected in (
        "Łukasz Şükrü de Vries",
        "Kerkstraat 12",
        "1017 GC Amsterdam",
        "Demo Winkel Retouren",
        "Magazijnweg 7",
        "5611 AB Eindhoven",
        result.tracking_number,
    ):
        assert expected in text
    numbers = text.split("RETURN NUMBER", 1)[1].split()
    assert numbers[:5] == ["ORDER", "ITEMS", "RET-2026-00042", "1001", "3"]


def test_own_tracking_numbers_follow_a_sequence_per_shop(app):
    first_shop = make_shop("een", "Shop een", **RETURN_ADDRESS)
    second_shop = make_shop("twee", "Shop twee", **RETURN_ADDRESS)

    numbers = [labels.next_tracking_number(first_shop) for _ in range(25)]
    other = labels.next_tracking_number(second_shop)

    assert len(set(numbers)) == 25
    assert numbers[0] == f"RD{first_shop.id:03d}00000001"
    assert numbers[-1] == f"RD{first_shop.id:03d}00000025"
    assert other == f"RD{second_shop.id:03d}00000001"


def test_second_label_for_the_same_return_keeps_its_tracking_number(shipment):
    shop, request, return_ = shipment
    adapter = get_adapter(shop, "own")
    return_.tracking_number = adapter.create_label(return_, request, shop).tracking_number

    again = adapter.create_label(return_, request, shop)

    assert again.tracking_number == return_.tracking_number


def test_own_label_reads_a_tracking_event(app):
    event = labels.OwnLabelAdapter().parse_tracking_event(
        {
            "tracking_number": "RD00100000001",
            "status": "delivered",
            "occurred_at": "2026-11-20T10:00:00Z",
        }
    )

    assert (event.tracking_number, event.status) == ("RD00100000001", "delivered")
    assert event.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"


@pytest.mark.parametrize(
    "payload",
    [
        {"tracking_number": "RD00100000001", "status": "lost_in_space"},
        {"tracking_number": "", "status": "delivered"},
    ],
)
def test_own_label_refuses_a_malformed_tracking_event(app, payload):
    with pytest.raises(ValueError):
        labels.OwnLabelAdapter().parse_tracking_event(payload)


# --- which carriers a shop offers -----------------------------------------------------------------


def test_shop_offers_own_label_until_it_switches_it_off(app):
    shop = make_shop(**RETURN_ADDRESS)
    assert labels.enabled_carriers(shop) == ["own"]

    db.session.add(CarrierAccount(shop_id=shop.id, carrier="own", enabled=False))
    db.session.flush()

    assert labels.enabled_carriers(shop) == []
    with pytest.raises(CarrierError):
        get_adapter(shop, "own")


def test_sendcloud_is_offered_only_with_both_keys(app):
    shop = make_shop(**RETURN_ADDRESS)
    account = CarrierAccount(shop_id=shop.id, carrier="sendcloud", public_key="pub")
    db.session.add(account)
    db.session.flush()
    assert "sendcloud" not in labels.enabled_carriers(shop)

    account.secret_key = "sec"
    db.session.flush()

    assert labels.enabled_carriers(shop) == ["own", "sendcloud"]


# --- Sendcloud against a local stand-in ---------------------------------------------------------


@pytest.fixture
def sendcloud_shipment(shipment):
    shop, request, return_ = shipment
    db.session.add(
        CarrierAccount(
            shop_id=shop.id,
            carrier="sendcloud",
            public_key=PUBLIC_KEY,
            secret_key=SECRET_KEY,
            settings={"shipping_option_code": "postnl:return/standard", "contract": 517},
        )
    )
    db.session.flush()
    return_.carrier = "sendcloud"
    return shop, request, return_


def routes(state) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in state["calls"]]


def test_sendcloud_label_is_validated_announced_and_downloaded(sendcloud, sendcloud_shipment):
    shop, request, return_ = sendcloud_shipment

    result = get_adapter(shop, "sendcloud").create_label(return_, request, shop)

    assert routes(sendcloud) == [
        ("POST", "/api/v3/returns/validate"),
        ("POST", "/api/v3/returns/announce-synchronously"),
        ("GET", "/api/v3/returns/12345"),
        ("GET", "/api/v3/parcels/67880/documents/label"),
    ]
    body = sendcloud["calls"][1][2]
    assert body["from_address"]["postal_code"] == "1017 GC"
    assert body["to_address"]["address_line_1"] == "Magazijnweg 7"
    assert body["ship_with"] == {
        "type": "shipping_option_code",
        "shipping_option_code": "postnl:return/standard",
        "contract": 517,
    }
    assert body["external_reference"] == "RET-2026-00042"
    assert [(i["sku"], i["quantity"]) for i in body["parcel_items"]] == [("SKU-0", 2), ("SKU-1", 1)]
    assert body["parcel_items"][0]["value"] == {"value": 49.95, "currency": "EUR"}
    assert result.tracking_number == "3SSEND12345678"
    assert result.tracking_url == "https://tracking.example/3SSEND12345678"
    assert result.pdf_bytes == LABEL_PDF
    assert return_.carrier_reference == "12345:67880"


def test_sendcloud_refusal_becomes_a_clear_carrier_error(sendcloud, sendcloud_shipment):
    shop, request, return_ = sendcloud_shipment
    shop.return_address_postcode = None

    with pytest.raises(CarrierError) as refused:
        get_adapter(shop, "sendcloud").create_label(return_, request, shop)

    assert "to_address.postal_code: This field is required." in message_of(refused.value)
    assert not refused.value.retryable
    assert routes(sendcloud) == [("POST", "/api/v3/returns/validate")]
    assert return_.carrier_reference is None


def test_sendcloud_wrong_keys_are_named_as_such(sendcloud, sendcloud_shipment):
    shop, request, return_ = sendcloud_shipment
    labels.carrier_account(shop, "sendcloud").secret_key = "nope"

    with pytest.raises(CarrierError) as refused:
        get_adapter(shop, "sendcloud").create_label(return_, request, shop)

    assert message_of(refused.value) == "Sendcloud refused the shop's API keys."


@pytest.mark.parametrize(
    ("status", "payload", "retryable"),
    [
        (503, errors("503", "unavailable", "Service unavailable"), True),
        (429, errors("429", "throttled", "Too many requests"), True),
        (422, {"error": {"code": 422, "message": "Unknown shipping option"}}, False),
    ],
)
def test_sendcloud_failures_say_whether_a_retry_may_help(
    sendcloud, sendcloud_shipment, status, payload, retryable
):
    shop, request, return_ = sendcloud_shipment
    sendcloud["fail_with"] = (status, payload)

    with pytest.raises(CarrierError) as failed:
        get_adapter(shop, "sendcloud").create_label(return_, request, shop)

    assert failed.value.retryable is retryable
    detail = payload["errors"][0]["detail"] if "errors" in payload else payload["error"]["message"]
    assert message_of(failed.value) == f"Sendcloud refused the request: {detail}"


def test_unreachable_sendcloud_is_retryable(app, sendcloud_shipment):
    shop, request, return_ = sendcloud_shipment
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # the stand-in is on loopback
    app.config["SENDCLOUD_API_URL"] = f"http://127.0.0.1:{free_port()}/api/v3"

    with pytest.raises(CarrierError) as failed:
        get_adapter(shop, "sendcloud").create_label(return_, request, shop)

    assert failed.value.retryable


def test_retried_sendcloud_job_fetches_the_announced_return_instead_of_a_second(
    sendcloud, sendcloud_shipment
):
    shop, request, return_ = sendcloud_shipment
    adapter = get_adapter(shop, "sendcloud")
    sendcloud["announced"] = False
    with pytest.raises(CarrierError) as pending:
        adapter.create_label(return_, request, shop)
    assert pending.value.retryable

    sendcloud["announced"] = True
    result = adapter.create_label(return_, request, shop)

    assert routes(sendcloud).count(("POST", "/api/v3/returns/announce-synchronously")) == 1
    assert result.tracking_number == "3SSEND12345678"


def test_sendcloud_cancel_requests_cancellation_of_the_return(sendcloud, sendcloud_shipment):
    shop, _request, return_ = sendcloud_shipment
    return_.carrier_reference = "12345:67880"

    get_adapter(shop, "sendcloud").cancel_label(return_)

    assert routes(sendcloud) == [("PATCH", "/api/v3/returns/12345/cancel")]


@pytest.mark.parametrize(
    ("status_id", "message", "expected"),
    [
        (11, "Delivered", "delivered"),
        (2000, "Cancelled", "cancelled"),
        (91, "En route", "in_transit"),
    ],
)
def test_sendcloud_status_webhook_becomes_a_tracking_event(
    sendcloud_shipment, status_id, message, expected
):
    shop = sendcloud_shipment[0]
    payload = {
        "action": "parcel_status_changed",
        "timestamp": 1763632800000,
        "parcel": {
            "tracking_number": "3SSEND12345678",
            "status": {"id": status_id, "message": message},
        },
    }

    event = get_adapter(shop, "sendcloud").parse_tracking_event(payload)

    assert (event.tracking_number, event.status, event.description) == (
        "3SSEND12345678",
        expected,
        message,
    )
    assert event.occurred_at.isoformat() == "2025-11-20T10:00:00+00:00"


def test_sendcloud_webhook_signature_must_match_the_secret(sendcloud_shipment):
    adapter = get_adapter(sendcloud_shipment[0], "sendcloud")
    body = b'{"action": "parcel_status_changed"}'
    signature = hmac.new(SECRET_KEY.encode(), body, hashlib.sha256).hexdigest()

    assert adapter.signature_is_valid(body, signature)
    assert not adapter.signature_is_valid(body + b" ", signature)
    assert not adapter.signature_is_valid(body, "")
