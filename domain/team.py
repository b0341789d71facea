"""A shop's team: inviting colleagues, changing their role, removing them.

Controllers (team_views.py) check the form and call these functions. Every function takes
the acting user and refuses shops that user does not administer; a shop never loses its
last admin, and nobody changes or removes their own membership. A member whose role changes
or who is removed is logged out everywhere (``User.end_sessions``).
"""

from __future__ import annotations

from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from domain import links, staff_tokens, tenancy
from domain.emails import queue_email
from domain.statuses import ROLE_LABELS
from extensions import db
from models import Membership, Shop, User


class TeamError(Exception):
    """A refused team change, with the form field it belongs to (``None``: the whole row)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def administered_shops(user: User) -> list[Shop]:
    """The shops whose team ``user`` manages: every shop for support, else where admin."""
    return tenancy.shops_named(tenancy.shops_for(user, "admin"))


def members_of(shops: list[Shop]) -> list[Membership]:
    """Memberships of these shops, by shop then name."""
    if not shops:
        return []
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.shop_id.in_([shop.id for shop in shops]))
            .order_by(Membership.shop_id, User.name, User.email)
        )
    )


def membership_in_scope(actor: User, membership_id: int) -> Membership | None:
    """A membership of a shop ``actor`` administers; ``None`` for anything else."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or not tenancy.is_admin_of(actor, membership.shop_id):
        return None
    return membership


def invite(actor: User, shop: Shop, email: str, role: str, name: str | None = None) -> User:
    """Give ``email`` a ``role`` in ``shop``, creating the user if needed, and email them.

    A new user has no password yet: the email carries a signed 7-day link to choose one.
    Someone who already has an account is told to log in.
    """
    _require_admin(actor, shop.id)
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=(name or "").strip() or email.split("@")[0])
        db.session.add(user)
    elif any(m.shop_id == shop.id for m in user.memberships):
        raise TeamError(
            _("%(email)s is already a member of %(shop)s.", email=email, shop=shop.name), "email"
        )
    user.memberships.append(Membership(shop=shop, role=role))
    db.session.flush()
    _queue_invite_email(actor, shop, user, role)
    db.session.commit()
    return user


def _queue_invite_email(actor: User, shop: Shop, user: User, role: str) -> None:
    needs_password = not user.password_hash
    if needs_password:
        link = staff_tokens.link_for(user, staff_tokens.INVITE)
    else:
        link = links.public_url() + url_for("auth.login")
    queue_email(
        "invite",
        user.email,
        user_language(user),
        shop=shop,
        user=user,
        inviter=actor,
        role_label=ROLE_LABELS[role],
        needs_password=needs_password,
        link=link,
    )


def change_role(actor: User, membership: Membership, role: str) -> None:
    _require_admin(actor, membership.shop_id)
    _lock_shop(membership.shop_id)
    _refuse_own_membership(actor, membership)
    if membership.role == "admin" and role != "admin":
        _refuse_last_admin(membership)
    membership.role = role
    membership.user.end_sessions()  # the member logs in again, with the new role
    db.session.commit()


def remove(actor: User, membership: Membership) -> None:
    _require_admin(actor, membership.shop_id)
    _lock_shop(membership.shop_id)
    _refuse_own_membership(actor, membership)
    if membership.role == "admin":
        _refuse_last_admin(membership)
    membership.user.end_sessions()
    db.session.delete(membership)
    db.session.commit()


def _require_admin(actor: User, shop_id: int) -> None:
    if not tenancy.is_admin_of(actor, shop_id):
        raise PermissionError(f"user {actor.id} does not administer shop {shop_id}")


def _lock_shop(shop_id: int) -> None:
    """Serialise team changes per shop, so two admins cannot demote each other at once."""
    db.session.execute(select(Shop.id).where(Shop.id == shop_id).with_for_update())


def _refuse_own_membership(actor: User, membership: Membership) -> None:
    if membership.user_id == actor.id:
        raise TeamError(_("You cannot change or remove your own membership."))


def _refuse_last_admin(membership: Membership) -> None:
    admins = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.shop_id == membership.shop_id, Membership.role == "admin")
    )
    if (admins or 0) <= 1:
        raise TeamError(_("A shop needs at least one admin."))


def user_language(user: User) -> str:
    """The language to write to a user in: their choice, else the current page's."""
    return user.language or str(get_locale() or "en")
