"""What support's editors share: who may change a shop's settings, and the audit of each change.

Platform support edits everything. A shop's admins may read their shop's settings, and edit
them only when support granted the shop ``admins_edit_form``; agents have no access. Every
change writes an ``AuditEvent`` and is read by the portal on its next request.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from domain import tenancy
from extensions import db
from models import (
    AuditEvent,
    Shop,
)
from web.admin.base import ShopScopedView

LANGUAGE_CHOICES = [("nl", _l("Dutch")), ("en", _l("English"))]


def editable_shop_ids() -> list[int] | None:
    """Shops whose settings here the user may change: ``None`` is every shop and the global
    rules (support); an admin only the shops they administer that support granted
    ``admins_edit_form``."""
    shop_ids = tenancy.shops_for(current_user, "admin")
    if not shop_ids:
        return shop_ids
    granted = select(Shop.id).where(Shop.id.in_(shop_ids), Shop.admins_edit_form.is_(True))
    return list(db.session.scalars(granted))


def may_edit_shop(shop_id: int | None) -> bool:
    """Support edits any shop and the global rules; an admin only a granted shop."""
    return tenancy.is_among(shop_id, editable_shop_ids())


def record_change(action: str, shop_id: int | None, note: str) -> None:
    """Audit an editor change in the transaction that saves it."""
    db.session.add(
        AuditEvent(
            shop_id=shop_id,
            actor_id=current_user.id,
            actor_label=current_user.name,
            action=action,
            note=note,
        )
    )


class EditorView(ShopScopedView):
    """A settings editor: support edits, admins read (or edit when granted), agents 403."""

    audit_noun = "setting"
    details_modal = False
    read_role = "admin"

    def changeable_shop_ids(self) -> list[int] | None:
        return editable_shop_ids()

    def on_model_change(self, form, model, is_created) -> None:
        super().on_model_change(form, model, is_created)
        verb = "created" if is_created else "changed"
        record_change(f"{self.audit_noun}_{verb}", self.owning_shop_id(model), str(model))

    def on_model_delete(self, model) -> None:
        record_change(f"{self.audit_noun}_deleted", model.shop_id, str(model))
