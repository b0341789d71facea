"""Secrets at rest (a shop's platform credentials): Fernet tokens under ``ENCRYPTION_KEY``.

``ENCRYPTION_KEY`` holds one or more Fernet keys, comma separated (``Fernet.generate_key()``).
The first encrypts; every one decrypts, so a key is rotated by putting the new one first,
running ``flask connectors rotate-key`` (which re-encrypts every stored secret under it) and
then dropping the old one. Without ``ENCRYPTION_KEY`` a key is derived from ``SECRET_KEY``, with
a warning, so ``make run`` needs no extra step; production sets its own key, kept apart from
the database backups.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

log = logging.getLogger(__name__)


class UnreadableSecret(Exception):
    """A stored secret that none of the configured keys decrypts (a key was dropped too soon)."""


def configured_keys() -> list[bytes]:
    """The Fernet keys in ``ENCRYPTION_KEY``, or one derived from ``SECRET_KEY`` without it."""
    text = current_app.config.get("ENCRYPTION_KEY") or ""
    keys = [key.strip().encode() for key in text.split(",") if key.strip()]
    if keys:
        return keys
    if not current_app.extensions.get("encryption_key_warned"):
        log.warning(
            "ENCRYPTION_KEY is not set: shop credentials are encrypted with a key derived from "
            "SECRET_KEY. Set ENCRYPTION_KEY in production (see README)."
        )
        current_app.extensions["encryption_key_warned"] = True
    digest = hashlib.sha256(b"returndesk-encryption:" + current_app.config["SECRET_KEY"].encode())
    return [base64.urlsafe_b64encode(digest.digest())]


def box() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in configured_keys()])


def encrypt(secret: str) -> str:
    """``secret`` as a Fernet token under the first key."""
    return box().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The secret in ``token``; ``UnreadableSecret`` when no configured key opens it."""
    try:
        return box().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise UnreadableSecret("no configured ENCRYPTION_KEY decrypts this secret") from error


def reencrypt(token: str) -> str:
    """``token`` encrypted again under the first key (for rotation)."""
    try:
        return box().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise UnreadableSecret("no configured ENCRYPTION_KEY decrypts this secret") from error
