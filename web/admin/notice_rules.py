"""The notice rules editor (conditions, message, action, dry run) and support's manual notice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import FormOpts, rules
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    Form,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from domain import notices, tenancy
from domain.formatting import language
from domain.statuses import (
    MOVE_TO_STAGE,
    NOTICE_ACTION_LABELS,
    SEVERITY_BADGES,
    SEVERITY_LABELS,
    STATUS_LABELS,
)
from extensions import db
from models import (
    SEVERITIES,
    Notice,
    NoticeRule,
    ReturnRequest,
    ReviewStage,
    Shop,
)
from web.admin.base import SupportOnly, reason_choices
from web.admin.editor_base import (
    EditorView,
    may_edit_shop,
)
from web.admin.plain_rows import ShopChoice, dry_run_rows


def condition_field_name(kind: str, param: str | None = None) -> str:
    return f"cond_{kind}" if param is None else f"cond_{kind}__{param}"


def param_field(param: notices.Param):
    if param.kind == "money":
        return DecimalField(param.label, places=2, validators=[Optional(), NumberRange(min=0)])
    if param.kind == "int":
        return IntegerField(param.label, validators=[Optional(), NumberRange(min=0)])
    if param.kind == "reasons":
        return SelectMultipleField(param.label, choices=[], validators=[Optional()])
    return StringField(param.label, validators=[Optional()])


def param_to_stored(param: notices.Param, value):
    if param.kind == "money":
        return int((value * 100).to_integral_value())
    if param.kind == "words":
        return [word.strip() for word in value.split(",") if word.strip()]
    return value


def param_to_form(param: notices.Param, value):
    if param.kind == "money":
        return Decimal(int(value)) / 100
    if param.kind == "words":
        return ", ".join(value)
    return value


def param_is_empty(value) -> bool:
    return value is None or value == "" or value == []


class RuleFormBase(Form):
    """The notice rule form; the condition fields are added from ``notices.CONDITIONS``.

    ``stage_shops`` (stage id → shop id) is set by the view, to check a stage action.
    """

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    shop_id = SelectField(_l("Shop"), choices=[], validate_choice=True)
    severity = SelectField(_l("Severity"), choices=[(s, SEVERITY_LABELS[s]) for s in SEVERITIES])
    message_nl = TextAreaField(_l("Message (Dutch)"), validators=[DataRequired()])
    message_en = TextAreaField(_l("Message (English)"), validators=[DataRequired()])
    action = SelectField(
        _l("Action"),
        choices=[("", _l("None: only show the notice")), *NOTICE_ACTION_LABELS.items()],
    )
    action_stage_id = SelectField(_l("Review stage (for that action)"), choices=[])
    active = BooleanField(_l("Active"), default=True)

    stage_shops: dict[int, int] = {}

    def chosen_conditions(self) -> list[dict]:
        chosen = []
        for kind, condition in notices.CONDITIONS.items():
            if not self[condition_field_name(kind)].data:
                continue
            stored = {"kind": kind}
            for param in condition.params:
                value = self[condition_field_name(kind, param.name)].data
                stored[param.name] = param_to_stored(param, value)
            chosen.append(stored)
        return chosen

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self.conditions_valid() and self.check_stage_action() and valid

    def conditions_valid(self) -> bool:
        """At least one condition, each with its parameters: all a dry run needs."""
        valid, used = True, 0
        for kind, condition in notices.CONDITIONS.items():
            if not self[condition_field_name(kind)].data:
                continue
            used += 1
            for param in condition.params:
                field = self[condition_field_name(kind, param.name)]
                field.errors = list(field.errors)
                if not field.validate(self) or param_is_empty(field.data):
                    if not field.errors:
                        field.errors.append(gettext("Needed for this condition."))
                    valid = False
        if not used:
            self.name.errors = [*self.name.errors, gettext("Choose at least one condition.")]
            valid = False
        return valid

    def check_stage_action(self) -> bool:
        if self.action.data != MOVE_TO_STAGE:
            return True
        stage_id = int(self.action_stage_id.data or 0)
        if not stage_id or str(self.stage_shops.get(stage_id)) != self.shop_id.data:
            self.action_stage_id.errors.append(gettext("Choose a review stage of the rule's shop."))
            return False
        return True

    def populate_obj(self, rule: NoticeRule) -> None:
        rule.name = (self.name.data or "").strip()
        rule.shop_id = int(self.shop_id.data) if self.shop_id.data else None
        rule.severity = self.severity.data
        rule.message_nl = self.message_nl.data
        rule.message_en = self.message_en.data
        rule.action = self.action.data or None
        stage_id = self.action_stage_id.data
        rule.action_stage_id = int(stage_id) if stage_id and rule.action else None
        rule.active = self.active.data
        rule.conditions = self.chosen_conditions()

    def load(self, rule: NoticeRule) -> None:
        """Fill the form from a saved rule (edit page, first load)."""
        self.shop_id.data = str(rule.shop_id or "")
        self.action.data = rule.action or ""
        self.action_stage_id.data = str(rule.action_stage_id or "")
        for stored in rule.conditions or []:
            condition = notices.CONDITIONS.get(stored.get("kind"))
            if condition is None:
                continue
            self[condition_field_name(condition.kind)].data = True
            for param in condition.params:
                if param.name in stored:
                    field = self[condition_field_name(condition.kind, param.name)]
                    field.data = param_to_form(param, stored[param.name])


def build_rule_form() -> type[RuleFormBase]:
    """The rule form class: fixed fields plus a checkbox and parameters per condition."""
    fields = {}
    for kind, condition in notices.CONDITIONS.items():
        fields[condition_field_name(kind)] = BooleanField(condition.label)
        for param in condition.params:
            fields[condition_field_name(kind, param.name)] = param_field(param)
    return type("RuleForm", (RuleFormBase,), fields)


@dataclass(frozen=True)
class ConditionRow:
    """One "when …" row of the rule builder: a condition kind, whether the rule uses it, and
    its form fields (the switch that says so, then its parameters)."""

    kind: str
    label: str
    chosen: bool
    switch: Field
    params: tuple[Field, ...]


def condition_rows(form: RuleFormBase) -> list[ConditionRow]:
    return [
        ConditionRow(
            kind,
            str(condition.label),
            bool(form[condition_field_name(kind)].data),
            form[condition_field_name(kind)],
            tuple(form[condition_field_name(kind, p.name)] for p in condition.params),
        )
        for kind, condition in notices.CONDITIONS.items()
    ]


class ConditionRowsRule(rules.Macro):
    """Where the builder's rows go in the form: they render every condition field, so
    Flask-Admin keeps those fields in the form."""

    def __init__(self) -> None:
        super().__init__("rule_builder.conditions")

    @property
    def visible_fields(self) -> list[str]:
        names = []
        for kind, condition in notices.CONDITIONS.items():
            names.append(condition_field_name(kind))
            names.extend(condition_field_name(kind, p.name) for p in condition.params)
        return names


def change_rows(form: RuleFormBase, submitted) -> None:
    """The builder's buttons without JavaScript: add the condition chosen, or remove one."""
    added, removed = submitted.get("add_condition"), submitted.get("remove_condition")
    if submitted.get("builder") == "add" and added in notices.CONDITIONS:
        form[condition_field_name(added)].data = True
    if removed in notices.CONDITIONS:
        form[condition_field_name(removed)].data = False


def describe_conditions(rule: NoticeRule) -> str:
    """A rule's conditions in words, for the list."""
    parts = []
    for stored in rule.conditions or []:
        condition = notices.CONDITIONS.get(stored.get("kind"))
        if condition is None:
            parts.append(str(stored.get("kind")))
            continue
        values = [
            f"{param.label}: {param_to_form(param, stored[param.name])}"
            for param in condition.params
            if param.name in stored
        ]
        parts.append(f"{condition.label} ({', '.join(values)})" if values else str(condition.label))
    return " + ".join(parts)


def is_builder_step(submitted) -> bool:
    return submitted.get("builder") == "add" or "remove_condition" in submitted


class NoticeRuleView(EditorView):
    """Notice rules, with a dry run over the shop's last 100 requests before saving."""

    audit_noun = "rule"
    form = build_rule_form()
    create_template = "support/rule_form.html"
    edit_template = "support/rule_form.html"
    column_list = ("name", "shop", "conditions", "severity", "action", "active")
    column_filters = ("active", "severity")
    column_searchable_list = ("name",)
    column_formatters = {
        "shop": lambda v, c, m, p: m.shop.name if m.shop else gettext("All shops"),
        "conditions": lambda v, c, m, p: describe_conditions(m),
        "severity": lambda v, c, m, p: SEVERITY_LABELS.get(m.severity, m.severity),
        "action": lambda v, c, m, p: NOTICE_ACTION_LABELS.get(m.action, "") if m.action else "",
    }
    column_labels = {
        "name": _l("Name"),
        "shop": _l("Shop"),
        "conditions": _l("Conditions (all must hold)"),
        "severity": _l("Severity"),
        "action": _l("Action"),
        "action_stage": _l("Review stage (for that action)"),
        "message_nl": _l("Message (Dutch)"),
        "message_en": _l("Message (English)"),
        "active": _l("Active"),
        "created_at": _l("Created"),
    }
    form_rules = [
        rules.Header(_l("Rule")),
        "name",
        "shop_id",
        "active",
        ConditionRowsRule(),
        rules.Header(_l("Notice")),
        "severity",
        "message_nl",
        "message_en",
        rules.Header(_l("Action")),
        "action",
        "action_stage_id",
    ]

    def scope(self, query):
        """Admins read their shops' rules and the global ones, which apply to them too."""
        shop_ids = self.readable_shop_ids()
        return query.filter(
            tenancy.of_shops(NoticeRule.shop_id, shop_ids) | NoticeRule.shop_id.is_(None)
        )

    def create_form(self, obj=None):
        return self.fill_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self.fill_choices(super().edit_form(obj))

    def fill_choices(self, form):
        shops = self.scoped_shops()
        shop_ids = [shop.id for shop in shops]
        global_choice = [("", gettext("All shops (global)"))] if current_user.is_support else []
        form.shop_id.choices = global_choice + [(str(s.id), s.name) for s in shops]
        stages = db.session.scalars(
            select(ReviewStage).where(ReviewStage.shop_id.in_(shop_ids)).order_by(ReviewStage.id)
        ).all()
        names = {shop.id: shop.name for shop in shops}
        form.action_stage_id.choices = [("", "—")] + [
            (str(stage.id), f"{names[stage.shop_id]}: {stage.name(language())}") for stage in stages
        ]
        form.stage_shops = {stage.id: stage.shop_id for stage in stages}
        form[condition_field_name("reason_in", "codes")].choices = reason_choices(shop_ids)
        return form

    def on_form_prefill(self, form, id) -> None:
        if request.method == "GET":
            form.load(self.get_one(id))

    def on_model_delete(self, model) -> None:
        """The rule's notices go with it; the requests' notice counts follow."""
        super().on_model_delete(model)
        raised = db.session.scalars(select(Notice).where(Notice.rule_id == model.id)).all()
        for notice in raised:
            owner = notice.request
            owner.notices.remove(notice)
            owner.notice_count = len(owner.notices)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if request.method == "POST" and self.can_create:
            if "dry_run" in request.form:
                return self.dry_run_page(self.create_form(), self.create_template)
            if is_builder_step(request.form):
                return self.builder_page(self.create_form(), self.create_template)
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if request.method == "POST" and self.can_edit:
            if "dry_run" in request.form:
                model = self.get_one(request.args.get("id"))
                return self.dry_run_page(self.edit_form(obj=model), self.edit_template, model=model)
            if is_builder_step(request.form):
                model = self.get_one(request.args.get("id"))
                return self.builder_page(self.edit_form(obj=model), self.edit_template, model=model)
        return super().edit_view()

    def builder_page(self, form, template, **context):
        """The form again with a condition row added or removed; nothing is checked or saved."""
        change_rows(form, request.form)
        return self.render(
            template,
            form=form,
            form_opts=FormOpts(widget_args=self.form_widget_args, form_rules=self._form_edit_rules),
            return_url=self.get_url(".index_view"),
            **context,
        )

    def dry_run_page(self, form, template, **context):
        """Show which recent requests the rule as typed would flag; save nothing."""
        results = None
        if form.conditions_valid():
            rule = NoticeRule()
            form.populate_obj(rule)
            if not may_edit_shop(rule.shop_id):
                abort(403)
            shops = [db.session.get(Shop, rule.shop_id)] if rule.shop_id else self.scoped_shops()
            results = [
                (ShopChoice.of(shop), dry_run_rows(notices.dry_run(rule, shop))) for shop in shops
            ]
        return self.render(
            template,
            form=form,
            form_opts=FormOpts(widget_args=self.form_widget_args, form_rules=self._form_edit_rules),
            return_url=self.get_url(".index_view"),
            dry_run_results=results,
            **context,
        )

    def render(self, template, **kwargs):
        if "form" in kwargs:
            kwargs.setdefault("condition_rows", condition_rows(kwargs["form"]))
        kwargs.setdefault("action_labels", NOTICE_ACTION_LABELS)
        kwargs.setdefault("status_labels", STATUS_LABELS)
        kwargs.setdefault(
            "form_page", "admin/model/edit.html" if "model" in kwargs else "admin/model/create.html"
        )
        return super().render(template, **kwargs)


class ManualNoticeForm(FlaskForm):
    severity = SelectField(_l("Severity"), choices=[(s, SEVERITY_LABELS[s]) for s in SEVERITIES])
    text_nl = TextAreaField(_l("Notice (Dutch)"), validators=[InputRequired()])
    text_en = TextAreaField(_l("Notice (English)"), validators=[InputRequired()])


class ManualNoticeView(SupportOnly, BaseView):
    """Support adds a one-off notice to a single request, or removes one added by hand."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        number = (request.values.get("request") or "").strip()
        found = self.find_request(number) if number else None
        form = ManualNoticeForm()
        if found is not None and form.validate_on_submit():
            notices.add_manual_notice(
                found, current_user, form.severity.data, form.text_nl.data, form.text_en.data
            )
            db.session.commit()
            flash(gettext("Notice added to %(number)s.", number=found.number), "success")
            return redirect(url_for(".index", request=found.number))
        if number and found is None:
            flash(gettext("No request with number %(number)s.", number=number), "warning")
        return self.render(
            "support/manual_notice.html",
            form=form,
            number=number,
            found=found,
            severity_labels=SEVERITY_LABELS,
            severity_badges=SEVERITY_BADGES,
        )

    @expose("/remove/<int:notice_id>", methods=("POST",))
    def remove(self, notice_id: int):
        notice = db.session.get(Notice, notice_id)
        if notice is None or notice.rule_id is not None:
            abort(404)
        number = notice.request.number
        notices.remove_manual_notice(notice, current_user)
        db.session.commit()
        flash(gettext("Notice removed."), "success")
        return redirect(url_for(".index", request=number))

    @staticmethod
    def find_request(number: str) -> ReturnRequest | None:
        return db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))
