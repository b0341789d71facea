"""Attachments in either store, the folder or an S3 bucket (moto's S3 on loopback): stored
whole, served through the same checked routes, swept, refused with a clear message when the
store is down, and copied between stores by ``flask storage migrate``."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db
from factories import make_request
from models import Attachment, Message, utcnow
from portal_helpers import (
    choose,
    choose_resolution,
    give_details,
    jpeg_bytes,
    lookup,
    submission_key,
    submit,
)
from services import conversation, storage, stores
from storage_backends import down_store, new_bucket, use_store

PDF = b"%PDF-1.4\n% a customer's receipt\n%%EOF\n"


def attachments() -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


def submit_with_photo(client, order, reasons, photo: bytes) -> None:
    """The portal customer returns one damaged blouse with a photo of it."""
    lookup(client)
    choose(client, {order.lines[0].id: 1})
    response = give_details(
        client, [order.lines[0].id], reasons["damaged"], "Torn seam", [("seam.jpg", photo)]
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    choose_resolution(client)
    assert submit(client, submission_key(client)).status_code == 302


def test_a_customers_photo_is_stored_whole_and_staff_see_it(
    backend, client, auth, agent, order, reasons
):
    photo = jpeg_bytes()
    submit_with_photo(client, order, reasons, photo)

    [stored] = attachments()
    auth.login(agent.email)
    response = client.get(f"/admin/requests/{stored.request_id}/photo/{stored.id}")

    assert backend.stored() == {stored.storage_key}
    assert stored.sha256 == hashlib.sha256(photo).hexdigest()
    assert response.status_code == 200 and response.data == photo
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Length"] == str(len(photo))
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_thread_file_downloads_as_an_attachment_under_its_name(backend, client, auth, agent):
    req = make_request(agent.memberships[0].shop)
    conversation.receive_reply(req, "My receipt", [conversation.Upload("receipt.pdf", PDF)])
    db.session.commit()
    [stored] = attachments()
    auth.login(agent.email)

    response = client.get(f"/admin/requests/{req.id}/attachment/{stored.id}")

    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert re.match(r'attachment; filename="?receipt.pdf', response.headers["Content-Disposition"])


def test_photos_of_a_draft_never_submitted_are_removed_from_the_store(
    backend, client, order, reasons
):
    lookup(client)
    choose(client, {order.lines[0].id: 1})
    give_details(client, [order.lines[0].id], reasons["damaged"], "Torn", [("a.jpg", jpeg_bytes())])
    assert len(backend.stored()) == 1
    db.session.execute(update(Attachment).values(created_at=utcnow() - timedelta(days=3)))
    db.session.commit()

    assert storage.sweep_abandoned_uploads() == 1
    assert backend.stored() == set() and attachments() == []


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_when_the_store_is_down_the_photo_is_refused_clearly_and_nothing_is_kept(
    app, client, order, reasons, monkeypatch, tmp_path, kind
):
    down_store(app, kind, monkeypatch, tmp_path)
    lookup(client)
    choose(client, {order.lines[0].id: 1})

    response = give_details(
        client, [order.lines[0].id], reasons["damaged"], "Torn", [("seam.jpg", jpeg_bytes())]
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "“seam.jpg” kon nu niet worden bewaard. Probeer het zo nog eens." in page
    assert attachments() == []


class FailsAfter:
    """A store that takes ``count`` files and is down for the next (a store failing midway)."""

    def __init__(self, store: stores.Store, count: int) -> None:
        self.store, self.count = store, count
        self.url = store.url

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.count == 0:
            raise stores.StoreUnavailable("connection reset")
        self.count -= 1
        self.store.put(key, data, content_type)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_message_whose_second_file_cannot_be_stored_keeps_neither(
    backend, app, client, auth, agent
):
    req = make_request(agent.memberships[0].shop)
    db.session.commit()
    app.extensions["store"] = FailsAfter(backend.store, count=1)
    auth.login(agent.email)

    response = client.post(
        f"/admin/requests/{req.id}/message",
        data={
            "body": "Two files",
            "kind": "customer",
            "files": [(io.BytesIO(PDF), "one.pdf"), (io.BytesIO(PDF), "two.pdf")],
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "The files could not be stored just now." in response.get_data(as_text=True)
    assert backend.stored() == set()
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_migrate_copies_every_file_to_s3_verified_and_resumes(app, runner, s3, agent, client, auth):
    folder = use_store(app, "")
    req = make_request(agent.memberships[0].shop)
    files = [bytes(f"%PDF-1.4\n% file {n}\n%%EOF\n", "ascii") for n in range(3)]
    saved = [
        storage.save(data, f"f{n}.pdf", "application/pdf", req.shop_id, request_id=req.id)
        for n, data in enumerate(files)
    ]
    db.session.commit()
    bucket = new_bucket(s3)
    target = f"s3://{bucket}/moved"

    first = runner.invoke(args=["storage", "migrate", "--to", target])
    again = runner.invoke(args=["storage", "migrate", "--to", target])

    assert first.exit_code == 0, first.output
    assert "3 copied, 0 there already" in first.output
    assert "0 copied, 3 there already" in again.output
    assert {p.name for p in folder.folder.iterdir()} == {a.storage_key for a in saved}
    moved = use_store(app, target)
    auth.login(agent.email)
    for attachment, data in zip(saved, files, strict=True):
        assert moved.get(attachment.storage_key) == data
        download = client.get(f"/admin/requests/{req.id}/photo/{attachment.id}")
        assert download.data == data


def test_migrate_refuses_a_file_that_does_not_match_its_sha256(app, runner, s3, agent):
    folder = use_store(app, "")
    req = make_request(agent.memberships[0].shop)
    good = storage.save(PDF, "good.pdf", "application/pdf", req.shop_id, request_id=req.id)
    bad = storage.save(PDF, "bad.pdf", "application/pdf", req.shop_id, request_id=req.id)
    db.session.commit()
    folder.path(bad.storage_key).write_bytes(PDF + b"changed on disk")
    bucket = new_bucket(s3)

    result = runner.invoke(args=["storage", "migrate", "--to", f"s3://{bucket}/moved"])

    assert result.exit_code == 1
    assert f"{bad.storage_key}: the source file does not match its recorded sha256" in result.output
    moved = stores.store_at(f"s3://{bucket}/moved")
    assert moved.exists(good.storage_key) and not moved.exists(bad.storage_key)
