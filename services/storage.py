"""Attachment storage: files in a folder outside the static tree, under random names.

The original name, the type found by looking at the content, the size and the sha256 are
recorded on the ``Attachment`` row; files are only ever served through checked routes.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import filetype
import pillow_heif
from flask import current_app, send_file
from PIL import Image
from sqlalchemy import delete, select
from werkzeug.utils import secure_filename

from extensions import db
from models import Attachment, utcnow

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


def root() -> Path:
    path = Path(current_app.config["STORAGE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    """Store checked bytes and add the ``Attachment`` row to the session."""
    key = secrets.token_hex(24)
    (root() / key).write_bytes(data)
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
    return (root() / attachment.storage_key).read_bytes()


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
    response = send_file(
        root() / attachment.storage_key,
        mimetype=attachment.content_type,
        as_attachment=not inline,
        download_name=download_name(attachment),
        max_age=0,
    )
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
        (root() / key).unlink(missing_ok=True)
    return len(abandoned)
