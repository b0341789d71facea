"""Keep no longer than the shop decides: a closed request's photos and message files are
deleted its shop's retention months after closure; open requests, recent ones, labels and the
requests themselves stay; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from factories import make_order, make_request, make_shop
from harness import visible
from models import CANCELLED, COMPLETED, NEW, Attachment, ReturnRequest, utcnow
from portal_helpers import jpeg_bytes
from services import retention, storage, stores
from settings_helpers import settings_form


def request_with_photo(shop, status: str, closed_days_ago: int) -> tuple[int, str]:
    request = make_request(shop, make_order(shop), status=status)
    photo = storage.save(
        jpeg_bytes(),
        "foto.jpg",
        "image/jpeg",
        shop.id,
        request_id=request.id,
        request_line_id=request.lines[0].id,
    )
    db.session.flush()
    db.session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == request.id)
        .values(updated_at=utcnow() - timedelta(days=closed_days_ago))
    )
    db.session.commit()
    return request.id, photo.storage_key


@pytest.fixture
def files(shop):
    """Photos of requests closed 7 months ago, 2 months ago and open for a year (demo,
    6 months), and of one closed 7 months ago in a shop that keeps them for 12."""
    patient = make_shop("patient", "Geduldige Winkel", file_retention_months=12)
    return {
        "old": request_with_photo(shop, COMPLETED, 7 * 31),
        "recent": request_with_photo(shop, CANCELLED, 60),
        "open": request_with_photo(shop, NEW, 365),
        "patient": request_with_photo(patient, COMPLETED, 7 * 31),
    }


def test_only_files_past_their_shops_retention_are_deleted(app, files):
    assert retention.sweep_expired_files() == 1
    store = stores.current()
    old_request, old_key = files["old"]
    assert not store.exists(old_key)
    assert db.session.scalar(select(Attachment).where(Attachment.storage_key == old_key)) is None
    assert db.session.get(ReturnRequest, old_request).total_cents > 0
    for kept in ("recent", "open", "patient"):
        key = files[kept][1]
        assert store.exists(key), kept
        assert db.session.scalar(select(Attachment).where(Attachment.storage_key == key)), kept


def test_a_second_run_changes_nothing(app, files):
    retention.sweep_expired_files()
    assert retention.sweep_expired_files() == 0


def test_the_admin_sets_the_retention_on_the_settings_page(client, auth, shop_staff):
    auth.login("admin@example.com")
    url = f"/admin/shop_settings/{shop_staff.shop.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Keep photos and message files (months after the request is closed)" in visible(page)
    form = settings_form(page)
    assert form["file_retention_months"] == "6"
    assert client.post(url, data={**form, "file_retention_months": "18"}).status_code == 302
    db.session.expire_all()
    assert shop_staff.shop.file_retention_months == 18
