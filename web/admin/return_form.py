"""The shop's return form, as support (or a granted shop admin) edits it: reasons and questions,
each put in its place in the form by moving it up or down."""

from __future__ import annotations

from flask import abort, redirect, request
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import (
    TextAreaField,
)
from wtforms.validators import ValidationError as FieldError

from domain.formatting import language as current_language
from extensions import db
from web.admin.base import written_in
from web.admin.editor_base import (
    EditorView,
    record_change,
)

UP, DOWN = "up", "down"


class OrderedInForm(EditorView):
    """Reasons and questions show in the portal in the order of ``position``, per shop: the
    list moves one up or down a place (a new one goes last), nobody types numbers."""

    column_default_sort = [("shop_id", False), ("position", False), ("id", False)]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.column_formatters = {**self.column_formatters, "position": self.move_buttons}

    def move_buttons(self, view, context, model, name) -> Markup:
        """The row's place, with a button up and a button down (forms: no JavaScript needed)."""
        if not self.may_change(model.shop_id):
            return Markup("{}").format(model.position)
        label = model.label(current_language())
        buttons = [
            self.move_button(model, UP, "fa-arrow-up", gettext("Move up: %(item)s", item=label)),
            self.move_button(
                model, DOWN, "fa-arrow-down", gettext("Move down: %(item)s", item=label)
            ),
        ]
        return Markup('<span class="text-nowrap">{} {}</span>').format(
            model.position, Markup("").join(buttons)
        )

    def move_button(self, model, direction: str, icon: str, label: str) -> Markup:
        return Markup(
            '<form method="post" action="{}" class="d-inline">'
            '<input type="hidden" name="csrf_token" value="{}">'
            '<input type="hidden" name="url" value="{}">'
            '<button type="submit" class="btn btn-sm btn-link p-0 mx-1" aria-label="{}" title="{}">'
            '<span class="fa {}" aria-hidden="true"></span></button></form>'
        ).format(
            self.get_url(".move", row_id=model.id, direction=direction),
            generate_csrf(),
            request.full_path,
            label,
            label,
            icon,
        )

    @expose("/move/<int:row_id>/<direction>", methods=("POST",))
    def move(self, row_id: int, direction: str):
        """Swap the row with its neighbour above or below in the same shop's form."""
        if direction not in (UP, DOWN):
            abort(404)
        model = self.get_one(str(row_id))
        if model is None:
            abort(404)
        siblings = self.in_order(model.shop_id)
        place = siblings.index(model)
        other = place - 1 if direction == UP else place + 1
        if 0 <= other < len(siblings):
            siblings[place], siblings[other] = siblings[other], siblings[place]
            for position, sibling in enumerate(siblings, start=1):
                sibling.position = position
            record_change(
                f"{self.audit_noun}_moved", model.shop_id, f"{model} {direction} to {other + 1}"
            )
            db.session.commit()
        return redirect(get_redirect_target(param_name="url") or self.get_url(".index_view"))

    def in_order(self, shop_id: int) -> list:
        return list(
            db.session.scalars(
                select(self.model)
                .where(self.model.shop_id == shop_id)
                .order_by(self.model.position, self.model.id)
            )
        )

    def on_model_change(self, form, model, is_created) -> None:
        """A new reason or question goes last in its shop's form."""
        super().on_model_change(form, model, is_created)
        if is_created:
            last = db.session.scalar(
                select(func.max(self.model.position)).where(
                    self.model.shop_id == self.owning_shop_id(model)
                )
            )
            model.position = (last or 0) + 1


QUESTION_KINDS = [
    ("text", _l("Text")),
    ("choice", _l("Choice")),
    ("yes_no", _l("Yes or no")),
    ("file", _l("File")),
]


class ReturnReasonView(OrderedInForm):
    audit_noun = "reason"
    column_list = (
        "shop",
        "position",
        "code",
        "label_nl",
        "label_en",
        "requires_photo",
        "requires_comment",
        "active",
    )
    column_filters = ("active",)
    form_columns = (
        "shop",
        "code",
        "label_nl",
        "label_en",
        "requires_photo",
        "requires_comment",
        "active",
    )
    column_labels = {
        "shop": _l("Shop"),
        "position": _l("Place in the form"),
        "code": _l("Code"),
        "label_nl": _l("Label (Dutch)"),
        "label_en": _l("Label (English)"),
        "requires_photo": _l("Photo required"),
        "requires_comment": _l("Comment required"),
        "active": _l("Active"),
    }
    column_formatters = {"label_en": written_in("en")}


class FormQuestionView(OrderedInForm):
    audit_noun = "question"
    column_list = ("shop", "position", "kind", "label_nl", "label_en", "required", "active")
    form_columns = (
        "shop",
        "kind",
        "label_nl",
        "label_en",
        "choices",
        "required",
        "active",
    )
    form_choices = {"kind": QUESTION_KINDS}
    column_formatters = {
        "kind": lambda v, c, m, p: dict(QUESTION_KINDS).get(m.kind, m.kind),
        "label_en": written_in("en"),
    }
    form_overrides = {"choices": TextAreaField}
    form_args = {"choices": {"description": _l("For a choice question: one option per line.")}}
    column_labels = {
        "shop": _l("Shop"),
        "position": _l("Place in the form"),
        "kind": _l("Kind"),
        "label_nl": _l("Question (Dutch)"),
        "label_en": _l("Question (English)"),
        "choices": _l("Choices"),
        "required": _l("Required"),
        "active": _l("Active"),
    }

    def on_model_change(self, form, model, is_created) -> None:
        if model.kind == "choice" and not (model.choices or "").strip():
            raise FieldError(gettext("A choice question needs at least one choice."))
        super().on_model_change(form, model, is_created)
