"""The customer's side of the portal tests: her order, the steps through the portal, photos."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pillow_heif
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from models import Order, ReturnReason

# The portal customer's order (``make_order(shop, **PORTAL_ORDER)``): #1001, which she finds
# with klant@example.com or 1234 AB; a linen blouse (two) and a woollen scarf (one).
PORTAL_ORDER: dict[str, Any] = {
    "number": "1001",
    "customer_name": "Sanne de Vries",
    "customer_email": "klant@example.com",
    "customer_postcode": "1234 AB",
    "lines": [
        {
            "product_name": "Linnen blouse",
            "variant": "M / wit",
            "quantity": 2,
            "unit_price_cents": 4995,
        },
        {"product_name": "Wollen sjaal", "quantity": 1, "unit_price_cents": 2995},
    ],
}


# --- the steps, through the Flask test client -------------------------------------------------


def lookup(client: FlaskClient, number: str = "1001", secret: str = "klant@example.com", **extra):
    """Step 1: find the order by its number and the email address or postcode."""
    return client.post(
        "/returns/demo/", data={"order_number": number, "email_or_postcode": secret, **extra}
    )


def choose(client: FlaskClient, quantities: Mapping[int, int]):
    """Step 2: return ``{order line id: quantity}``."""
    data = {}
    for line_id, quantity in quantities.items():
        data[f"line-{line_id}"] = "1"
        data[f"qty-{line_id}"] = str(quantity)
    return client.post("/returns/demo/items", data=data)


def give_details(
    client: FlaskClient,
    line_ids: Iterable[int],
    reason: ReturnReason,
    comment: str = "",
    photos: list[tuple[str, bytes]] | None = None,
):
    """Step 3: the same reason, comment and photos (``(name, bytes)``) for every line."""
    data = {}
    for line_id in line_ids:
        data[f"reason-{line_id}"] = str(reason.id)
        data[f"comment-{line_id}"] = comment
        if photos:
            data[f"photos-{line_id}"] = [(io.BytesIO(b), name) for name, b in photos]
    return client.post("/returns/demo/details", data=data, content_type="multipart/form-data")


def choose_resolution(client: FlaskClient, resolution: str = "refund", note: str = ""):
    return client.post(
        "/returns/demo/resolution", data={"resolution": resolution, "exchange_note": note}
    )


def submission_key(client: FlaskClient) -> str:
    """The one-time key of the review page's form (a second submit with it changes nothing)."""
    page = client.get("/returns/demo/review")
    assert page.status_code == 200
    return re.search(rb'name="submission_key" value="([^"]+)"', page.data).group(1).decode()


def submit(client: FlaskClient, key: str):
    return client.post("/returns/demo/review", data={"submission_key": key})


def fill_until_review(
    client: FlaskClient,
    order: Order,
    reasons: Mapping[str, ReturnReason],
    quantities: Mapping[int, int] | None = None,
    resolution: str = "refund",
    note: str = "",
) -> None:
    """Every step up to the review page: one blouse unless ``quantities`` says otherwise,
    returned because it is too big."""
    quantities = quantities or {order.lines[0].id: 1}
    assert lookup(client).status_code == 302
    assert choose(client, quantities).status_code == 302
    assert give_details(client, quantities, reasons["too_big"]).status_code == 302
    assert choose_resolution(client, resolution, note).status_code == 302


def at_details(client: FlaskClient, order: Order) -> int:
    """Up to step 3 with one unit of the first line; that line's id."""
    lookup(client)
    choose(client, {order.lines[0].id: 1})
    return order.lines[0].id


def stored_files(app: Flask) -> list[Path]:
    """The files in the app's storage (uploads that were kept)."""
    root = Path(app.config["STORAGE_DIR"])
    return list(root.iterdir()) if root.exists() else []


# --- photos ---------------------------------------------------------------------------------------


def image_bytes(kind: str = "JPEG") -> bytes:
    """A small real image; ``"HEIF"`` gives an iPhone-style HEIC photo (through pillow-heif)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, kind)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


pillow_heif.register_heif_opener()  # as storage.py does, so the tests can write HEIC photos

# Only the start of an HEIC file (an ISO-BMFF "ftyp" box with the heic brand): it sniffs as
# HEIC, but there is no picture behind it.
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
