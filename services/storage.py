"""Attachment storage: checked files under random names in the store (``services.stores``:
a folder outside the static tree, or an S3-compatible bucket).

The original name, the type found by looking at the content, the size and the sha256 are
recorded on the ``Attachment`` row; files are only ever served through checked routes, streamed
from the store.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import filetype
import pillow_heif
from flask import send_file, stream_with_context
from PIL import Image
from sqlalchemy import delete, func, select
from werkzeug.utils import secure_filename

from extensions import db
from models import Attachment, utcnow
from services import stores
from services.stores import StoreUnavailable as StoreUnavailable

# Pillow reads HEIC (iPhone photos) through pillow-heif.
pillow_heif.register_heif_opener()

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic"}
DOCUMENT_TYPES = IMAGE_TYPES | {"application/pdf", "text/plain"}
# The name Pillow gives each image type: a photo must open as the type its bytes were sniffed as.
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
}
# For these the sniffed signature is only a container header (an ISO-BMFF "ftyp" box) that any
# bytes may follow, so only decoding the whole picture proves the file is one.
DECODED_TYPES = {"image/heic"}
# A downloaded file always ends in the extension of its checked type, never the uploaded one.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# Larger images are refused before decoding: a small PNG can claim gigapixels (a
# decompression bomb) and exhaust memory when a thumbnail or viewer decodes it.
MAX_IMAGE_PIXELS = 50_000_000
# A file uploaded in a portal draft and not submitted within this time was abandoned.
ABANDONED_AFTER = timedelta(days=2)


class UploadRejected(ValueError):
    """An upload that is too large, of a type not allowed, or not what its name claims."""


def sniff_type(data: bytes) -> str | None:
    """The content type judged from the bytes themselves, never from the file name."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime
    if _is_plain_text(data):
        return "text/plain"
    return None


def _is_plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lowered = text[:1024].lower()
    return (
        "\x00" not in text
        and "<" not in lowered[:1]
        and "<script" not in lowered
        and "<svg" not in lowered
        and "<html" not in lowered
    )


def check_upload(data: bytes, allowed: set[str], max_bytes: int) -> str:
    """Return the sniffed content type, or raise ``UploadRejected`` with the reason."""
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected("too_large")
    content_type = sniff_type(data)
    if content_type not in allowed:
        raise UploadRejected("type")
    if content_type in IMAGE_TYPES:
        _check_image(data, content_type)
    return content_type


def _check_image(data: bytes, content_type: str) -> None:
    """Refuse an image that Pillow cannot read as ``content_type`` or that claims more than
    ``MAX_IMAGE_PIXELS``. The size comes from the header, so a decompression bomb is refused
    before anything is decoded; the types in ``DECODED_TYPES`` are then decoded in full."""
    pillow_format, pixels = _read_image(data)
    if pixels > MAX_IMAGE_PIXELS:
        raise UploadRejected("dimensions")
    if pillow_format != PILLOW_FORMATS[content_type]:
        raise UploadRejected("type")
    if content_type in DECODED_TYPES:
        _read_image(data, decode=True)


def _read_image(data: bytes, decode: bool = False) -> tuple[str | None, int]:
    """Pillow's name for the image's format and its pixel count; with ``decode`` every pixel
    is decoded too. An image Pillow cannot read (or decode) is refused as not a photo."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if decode:
                image.load()
            return image.format, image.width * image.height
    except Image.DecompressionBombError as bomb:
        raise UploadRejected("dimensions") from bomb
    except (OSError, ValueError, SyntaxError) as unreadable:
        raise UploadRejected("type") from unreadable


def save(
    data: bytes, original_name: str, content_type: str, shop_id: int, **links: int
) -> Attachment:
    """Store checked bytes and add the ``Attachment`` row to the session.

    Raises ``StoreUnavailable`` when the store cannot take the file: then nothing was
    written and no row added.
    """
    key = secrets.token_hex(24)
    stores.current().put(key, data, content_type)
    attachment = Attachment(
        shop_id=shop_id,
        original_name=secure_filename(original_name)[:255] or "file",
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        **links,
    )
    db.session.add(attachment)
    return attachment


def read(attachment: Attachment) -> bytes:
    return stores.current().get(attachment.storage_key)


def discard(attachments: list[Attachment]) -> None:
    """Remove the files of attachments whose rows will not be committed."""
    for attachment in attachments:
        stores.current().delete(attachment.storage_key)


def attachments_by_id(ids: list[int], session=None) -> list[Attachment]:
    """The attachments with these ids, read through ``session`` (default: db.session)."""
    if not ids:
        return []
    session = session or db.session
    return list(session.scalars(select(Attachment).where(Attachment.id.in_(ids))))


def download_name(attachment: Attachment) -> str:
    """The name a stored file is downloaded (or emailed) under: the uploaded name with the
    extension of the type found in its content, so a JPEG uploaded as "x.html" saves as
    "x.jpg" and never opens as a page."""
    stem = Path(attachment.original_name).stem or attachment.storage_key
    return stem + EXTENSIONS.get(attachment.content_type, ".bin")


def send(attachment: Attachment, always_download: bool = False):
    """Serve a stored file with its recorded type: raster images inline (unless
    ``always_download``), anything else as a download, never as a page that could run script."""
    inline = attachment.content_type in IMAGE_TYPES and not always_download
    store = stores.current()
    body: Path | io.BufferedReader
    if isinstance(store, stores.FolderStore):
        body = store.path(attachment.storage_key)
    else:
        chunks = stream_with_context(store.stream(attachment.storage_key))
        body = io.BufferedReader(StreamedFile(chunks), buffer_size=stores.CHUNK)
    response = send_file(
        body,
        mimetype=attachment.content_type,
        as_attachment=not inline,
        download_name=download_name(attachment),
        max_age=0,
        etag=False,
    )
    response.content_length = attachment.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def sweep_abandoned_uploads(now: datetime | None = None) -> int:
    """Delete files uploaded in portal drafts that were never submitted; returns how many.

    A submitted file is linked to its request (and line or message); one still linked to
    nothing after ``ABANDONED_AFTER`` belongs to a customer who left. The rows go first,
    the files after the commit, so no row ever points at a missing file.
    """
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    abandoned = (
        db.session.execute(
            delete(Attachment)
            .where(
                Attachment.request_id.is_(None),
                Attachment.request_line_id.is_(None),
                Attachment.message_id.is_(None),
                Attachment.created_at < cutoff,
            )
            .returning(Attachment.storage_key)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    for key in abandoned:
        stores.current().delete(key)
    return len(abandoned)


class StreamedFile(io.RawIOBase):
    """The chunks of a stored file as the file object ``send_file`` streams from."""

    def __init__(self, chunks) -> None:
        self.chunks, self.pending = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            self.pending = next(self.chunks, b"")
            if not self.pending:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


@dataclass
class CopyOutcome:
    """What ``copy_files`` did: files copied, files the target had already, and failures."""

    copied: int = 0
    present: int = 0
    failed: list[str] = field(default_factory=list)


def count_files() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment)) or 0


def copy_files(
    source: stores.Store, target: stores.Store, on_each: Callable[[], None] = lambda: None
) -> CopyOutcome:
    """Copy every attachment's file from ``source`` to ``target``, checking each sha256 at
    both ends. A file the target holds already (with the right sha256) is skipped, so a run
    that stopped resumes where it was; nothing is ever deleted from the source."""
    outcome = CopyOutcome()
    for key, sha256, content_type in _stored_files():
        problem = _copy_one(source, target, key, sha256, content_type, outcome)
        if problem:
            outcome.failed.append(f"{key}: {problem}")
        on_each()
    return outcome


def _copy_one(source, target, key: str, sha256: str, content_type: str, outcome) -> str | None:
    try:
        if target.exists(key) and _sha256(target.get(key)) == sha256:
            outcome.present += 1
            return None
        data = source.get(key)
        if _sha256(data) != sha256:
            return "the source file does not match its recorded sha256; not copied"
        target.put(key, data, content_type)
        if _sha256(target.get(key)) != sha256:
            return "the copy does not match its recorded sha256"
    except stores.MissingFile:
        return "missing at the source"
    except StoreUnavailable as down:
        return f"a store failed: {down}"
    outcome.copied += 1
    return None


def _stored_files(batch: int = 500) -> Iterator[tuple[str, str, str]]:
    """Every attachment's key, sha256 and type, in id order, a batch at a time."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(
                Attachment.id, Attachment.storage_key, Attachment.sha256, Attachment.content_type
            )
            .where(Attachment.id > last_id)
            .order_by(Attachment.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for _id, key, sha256, content_type in rows:
            yield key, sha256, content_type
        last_id = rows[-1][0]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
