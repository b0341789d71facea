"""Signed, expiring links for staff: password reset and invitations.

A token carries the user's id and a fingerprint of their current password hash. Setting a
password changes the hash, so every earlier link of that user dies with it: a reset link
works once, and an invite link stops working once the invitee has chosen a password.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from domain import links
from extensions import db
from models import User

RESET = "password-reset"
INVITE = "invite"
LIFETIMES = {RESET: timedelta(hours=1), INVITE: timedelta(days=7)}
ENDPOINTS = {RESET: "auth.reset_password", INVITE: "auth.accept_invite"}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"returndesk-{purpose}")


def password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:20]


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "pw": password_fingerprint(user)})


def user_for_token(token: str, purpose: str) -> User | None:
    """The active user a valid, unexpired, unused token was made for; else ``None``."""
    max_age = int(LIFETIMES[purpose].total_seconds())
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.is_active or data.get("pw") != password_fingerprint(user):
        return None
    return user


def link_for(user: User, purpose: str) -> str:
    """The absolute URL (under the public address, see links.py) to put in an email."""
    path = url_for(ENDPOINTS[purpose], token=make_token(user, purpose))
    return links.public_url() + path
