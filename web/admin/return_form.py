"""The shop's return form, as support (or a granted shop admin) edits it: reasons and questions."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    TextAreaField,
)
from wtforms.validators import ValidationError as FieldError

from web.admin.base import written_in
from web.admin.editor_base import (
    EditorView,
)

QUESTION_KINDS = [
    ("text", _l("Text")),
    ("choice", _l("Choice")),
    ("yes_no", _l("Yes or no")),
    ("file", _l("File")),
]


class ReturnReasonView(EditorView):
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
    column_default_sort = "position"
    column_filters = ("active",)
    form_columns = (
        "shop",
        "code",
        "label_nl",
        "label_en",
        "requires_photo",
        "requires_comment",
        "position",
        "active",
    )
    column_labels = {
        "shop": _l("Shop"),
        "position": _l("Order"),
        "code": _l("Code"),
        "label_nl": _l("Label (Dutch)"),
        "label_en": _l("Label (English)"),
        "requires_photo": _l("Photo required"),
        "requires_comment": _l("Comment required"),
        "active": _l("Active"),
    }
    column_formatters = {"label_en": written_in("en")}


class FormQuestionView(EditorView):
    audit_noun = "question"
    column_list = ("shop", "position", "kind", "label_nl", "label_en", "required", "active")
    column_default_sort = "position"
    form_columns = (
        "shop",
        "kind",
        "label_nl",
        "label_en",
        "choices",
        "required",
        "position",
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
        "position": _l("Order"),
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
