"""The shop's returnability rules (Settings → Non-returnable items): what may not go back."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange, Optional, ValidationError

from domain.statuses import NON_RETURNABLE_REASONS, NOT_RETURNABLE
from web.admin.base import ShopScopedView

# The platform's own flag is not a rule's reason: it comes with the order line.
RULE_REASONS = {
    code: label for code, label in NON_RETURNABLE_REASONS.items() if code != NOT_RETURNABLE
}


def _reason_cell(view, context, model, name) -> str:
    return str(NON_RETURNABLE_REASONS.get(model.reason, model.reason))


def _window_cell(view, context, model, name) -> str:
    if model.window_days is None:
        return _("Never")
    return _("Within %(days)d days of delivery", days=model.window_days)


class ReturnabilityRuleView(ShopScopedView):
    """Order lines whose SKU matches a pattern or that carry a tag: not returnable, or only
    within a window of their own. Agents read them; the shop's admins change them."""

    column_list = ("shop", "sku_pattern", "tag", "reason", "window_days", "active")
    form_columns = ("shop", "sku_pattern", "tag", "reason", "window_days", "active")
    column_labels = {
        "shop": _l("Shop"),
        "sku_pattern": _l("SKU pattern"),
        "tag": _l("Tag"),
        "reason": _l("Reason"),
        "window_days": _l("May go back"),
        "active": _l("Active"),
    }
    column_descriptions = {
        "sku_pattern": _l(
            "For example GIFT-* (every SKU starting with GIFT-); * matches anything."
        ),
        "tag": _l("A tag from the shop's platform, for example final-sale."),
        "window_days": _l("Empty: never. A number: only within that many days of delivery."),
    }
    column_formatters = {"reason": _reason_cell, "window_days": _window_cell}
    form_args = {"window_days": {"validators": [Optional(), NumberRange(min=1, max=365)]}}

    form_choices = {"reason": list(RULE_REASONS.items())}

    def on_model_change(self, form, model, is_created) -> None:
        super().on_model_change(form, model, is_created)
        model.sku_pattern = (model.sku_pattern or "").strip() or None
        model.tag = (model.tag or "").strip().lower() or None
        if model.sku_pattern is None and model.tag is None:
            raise ValidationError(_("Give a SKU pattern or a tag (or both)."))
