"""Flask-Admin views. Tenancy is one mechanism here: ``ShopScopedView``.

Every list, count, detail, edit, delete and export of a shop's data goes through
``ShopScopedView.scope()``, which keeps only the current user's shops (support sees all).
Row and bulk actions that change a status call workflow.py.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.model.filters import BaseIntFilter, BaseIntListFilter
from flask_admin.theme import Bootstrap4Theme
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

import dashboard
import emails
import notices
from extensions import db
from formatting import TIME_ZONES, language
from int_args import MAX_INT, parse_ids, parse_int, query_int
from models import (
    CarrierAccount,
    Order,
    OrderLine,
    OutboundEmail,
    Return,
    ReturnRequest,
    ReviewStage,
    Shop,
    User,
    utcnow,
)

STATUS_LABELS = {
    "new": _l("New"),
    "concept": _l("Concept"),
    "on_hold": _l("On hold"),
    "approved": _l("Approved"),
    "cancelled": _l("Cancelled"),
    "label_created": _l("Label created"),
    "completed": _l("Completed"),
}
STATUS_BADGES = {
    "new": "primary",
    "concept": "secondary",
    "on_hold": "warning",
    "approved": "success",
    "cancelled": "danger",
    "label_created": "info",
    "completed": "dark",
}


def visible_shops():
    """A query of the shops the current user may see."""
    query = select(Shop).order_by(Shop.name)
    shop_ids = current_user.shop_ids()
    if shop_ids is not None:
        query = query.where(Shop.id.in_(shop_ids))
    return db.session.scalars(query).all()


def row_ids(ids) -> list[int]:
    """Row ids from a form (``rowid`` of a bulk action) as integers; anything else is dropped."""
    return parse_ids(ids)


def status_badge(status: str) -> Markup:
    return Markup('<span class="badge badge-{}">{}</span>').format(
        STATUS_BADGES.get(status, "light"), STATUS_LABELS.get(status, status)
    )


class StaffOnly:
    """Mixin: only logged-in, active staff; others are sent to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.is_active

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("auth.login", next=request.url))


class SupportOnly(StaffOnly):
    def is_accessible(self) -> bool:
        return super().is_accessible() and current_user.is_support


def bounded(filter_class: type) -> type:
    """Flask-Admin's integer filter ``filter_class``, refusing a value out of the columns'
    range as it refuses one that is not a number (the filter is dropped with a message)."""

    def clean(self, value: str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(parse_int(part, -MAX_INT) is not None for part in parts):
            raise ValueError(value)
        return filter_class.clean(self, value)

    return type(filter_class.__name__, (filter_class,), {"clean": clean})


class BoundedFilterConverter(FilterConverter):
    int_filters = tuple(
        bounded(f) if issubclass(f, BaseIntFilter | BaseIntListFilter) else f
        for f in FilterConverter.int_filters
    )


class BoundedModelView(ModelView):
    """A model view whose row ids, page numbers and integer filters are read with
    ``int_args``: a number the database cannot hold is a 404 or a 400, never a 500.
    ``scope()`` narrows every query (``ShopScopedView`` to the user's shops)."""

    filter_converter = BoundedFilterConverter()

    def scope(self, query):
        return query

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        args.page = query_int("page", 0)
        return args

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        """Flask-Admin's bulk delete, given integer ids: psycopg 3 won't compare text to them."""
        return super().action_delete(row_ids(ids))

    def get_one(self, id):
        """A row outside ``scope()``, or an id no row can have, is simply not found."""
        row_id = parse_int(id, minimum=1)
        if row_id is None:
            abort(404)
        obj = self.scope(db.session.query(self.model)).filter(self.model.id == row_id).one_or_none()
        if obj is None:
            abort(404)
        return obj


class ShopScopedView(StaffOnly, BoundedModelView):
    """A model view that only ever shows or changes the current user's shops' rows.

    ``shop_column`` names how to reach the owning shop: the model's own ``shop_id`` by
    default; views of child rows set ``shop_join`` to the parent to join through.
    """

    shop_join = None
    page_size = 50
    can_view_details = True
    named_filter_urls = True
    admin_roles = ("support", "admin")

    def shop_column(self):
        return (self.shop_join or self.model).shop_id

    def scope(self, query):
        if self.shop_join is not None:
            query = query.join(self.shop_join)
        shop_ids = current_user.shop_ids()
        if shop_ids is None:
            return query
        return query.filter(self.shop_column().in_(shop_ids))

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def may_edit(self) -> bool:
        if current_user.is_support:
            return True
        return any(m.role in self.admin_roles for m in current_user.memberships)

    @property
    def can_create(self) -> bool:
        return self.may_edit()

    @property
    def can_edit(self) -> bool:
        return self.may_edit()

    @property
    def can_delete(self) -> bool:
        return self.may_edit()

    def on_model_change(self, form, model, is_created) -> None:
        """Refuse to save a row into a shop the user does not administer."""
        shop_id = self.owning_shop_id(model)
        if shop_id is None or current_user.role_in(shop_id) not in self.admin_roles:
            abort(403)

    def owning_shop_id(self, model) -> int | None:
        if self.shop_join is None:
            return model.shop_id or (model.shop.id if getattr(model, "shop", None) else None)
        parent = getattr(model, self.shop_join.__name__.lower(), None)
        return parent.shop_id if parent else None

    def scoped_shops(self):
        return [s for s in visible_shops() if current_user.role_in(s.id) in self.admin_roles]

    def create_form(self, obj=None):
        return self._limit_shop_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._limit_shop_choices(super().edit_form(obj))

    def _limit_shop_choices(self, form):
        if hasattr(form, "shop"):
            form.shop.query_factory = self.scoped_shops
        return form


class OrderView(ShopScopedView):
    column_list = (
        "number",
        "shop",
        "customer_name",
        "customer_email",
        "ordered_at",
        "delivered_at",
    )
    column_searchable_list = ("number", "customer_email", "customer_name")
    column_filters = ("delivered_at", "ordered_at")
    column_default_sort = ("ordered_at", True)
    form_excluded_columns = ("created_at",)
    inline_models = (
        (
            OrderLine,
            {
                "form_columns": (
                    "id",
                    "sku",
                    "product_name",
                    "variant",
                    "quantity",
                    "unit_price_cents",
                    "discount_cents",
                    "image_url",
                )
            },
        ),
    )
    column_labels = {
        "number": _l("Order number"),
        "shop": _l("Shop"),
        "customer_name": _l("Customer"),
        "customer_email": _l("Email"),
        "ordered_at": _l("Ordered"),
        "delivered_at": _l("Delivered"),
    }


class ReviewStageView(ShopScopedView):
    """The shop's own review stages: named steps inside the open statuses."""

    column_list = ("shop", "position", "name_nl", "name_en", "color")
    column_default_sort = "position"
    form_columns = ("shop", "name_nl", "name_en", "color", "position")
    column_labels = {
        "shop": _l("Shop"),
        "position": _l("Order"),
        "name_nl": _l("Name (Dutch)"),
        "name_en": _l("Name (English)"),
        "color": _l("Colour"),
    }
    column_formatters = {
        "color": lambda v, c, m, p: Markup(
            '<span class="badge" style="background:{0};color:#fff">{0}</span>'
        ).format(m.color)
    }


def unwritten_subject(view, context, model, name) -> str | Markup:
    """A bulk action's email before its delivery job wrote it: its template, in italics."""
    if model.written:
        return model.subject
    return Markup("<em>{}</em>").format(
        _("%(template)s (written when sent)", template=model.template)
    )


def email_parts(model: OutboundEmail) -> tuple[str, str, str | None]:
    """What the email says, or for an unwritten one what it would say if written now."""
    if model.written or model.request is None:
        return model.subject, model.body_text, model.body_html
    return emails.render_unwritten(model)


def email_preview(view, context, model, name) -> Markup:
    return Markup(
        '<iframe sandbox="" title="{}" style="width:100%;height:480px;border:1px solid #ddd"'
        ' srcdoc="{}"></iframe>'
    ).format(_("Email preview"), email_parts(model)[2] or "")


class OutboxView(ShopScopedView):
    """Every email, sent or not: without MAIL_SERVER they wait here, readable."""

    can_create = False
    can_edit = False
    can_delete = False
    column_list = (
        "created_at",
        "to_address",
        "subject",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    )
    column_details_list = (
        "created_at",
        "to_address",
        "subject",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "body_html",
    )
    column_filters = ("status", "template")
    column_searchable_list = ("to_address", "subject")
    column_default_sort = ("id", True)
    column_formatters = {"subject": unwritten_subject}
    column_formatters_detail = {
        "subject": lambda view, context, model, name: email_parts(model)[0],
        "body_html": email_preview,
    }
    column_labels = {
        "created_at": _l("Created"),
        "to_address": _l("To"),
        "subject": _l("Subject"),
        "status": _l("Status"),
        "attempts": _l("Attempts"),
        "last_error": _l("Last error"),
        "sent_at": _l("Sent"),
        "body_html": _l("Preview"),
    }

    def scope(self, query):
        """Support sees every email, including platform ones; staff only their shops'."""
        shop_ids = current_user.shop_ids()
        if shop_ids is None:
            return query
        return query.filter(OutboundEmail.shop_id.in_(shop_ids))


class ShopView(SupportOnly, BoundedModelView):
    column_list = ("slug", "name", "default_language", "return_window_days")
    form_excluded_columns = ("memberships", "created_at")
    form_choices = {"time_zone": [(zone, zone) for zone in TIME_ZONES]}

    def after_model_change(self, form, model, is_created) -> None:
        """A new shop starts with the founding document's example notice rule."""
        if is_created:
            notices.seed_default_rules(model)
            db.session.commit()


class UserView(SupportOnly, BoundedModelView):
    column_list = ("email", "name", "is_support", "active", "created_at")
    column_searchable_list = ("email", "name")
    form_columns = ("email", "name", "is_support", "active", "language")


class HomeView(StaffOnly, AdminIndexView):
    """The admin index: the dashboard of the user's shops (all or one) for a chosen period."""

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.url))
        from request_views import RESOLUTION_LABELS  # here: request_views imports this module

        shops = visible_shops()
        chosen = next((s for s in shops if str(s.id) == request.args.get("shop")), None)
        shop_ids = [chosen.id] if chosen else [s.id for s in shops]
        now = utcnow()
        period = dashboard.period_from_args(request.args, now)
        figures = dashboard.figures(shop_ids, period, now, language()) if shops else None
        return self.render(
            "admin/dashboard.html",
            shops=shops,
            chosen=chosen,
            period=period,
            period_days=dashboard.PERIOD_DAYS,
            figures=figures,
            charts=dashboard_charts(figures) if figures else {},
            status_labels=STATUS_LABELS,
            resolution_labels=RESOLUTION_LABELS,
            duration=format_duration,
        )


def format_duration(seconds: float | None) -> str:
    """A duration as people read it: minutes under an hour, hours under two days, then days."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _("%(minutes)s min", minutes=format_decimal(round(seconds / 60)))
    if seconds < 48 * 3600:
        return _("%(hours)s h", hours=format_decimal(round(seconds / 3600, 1)))
    return _("%(days)s d", days=format_decimal(round(seconds / 86400, 1)))


def dashboard_charts(figures: dashboard.Figures) -> dict:
    """The chart data (labels and series) that static/dashboard.js draws; tables show the same."""
    from request_views import RESOLUTION_LABELS

    weeks = figures.weeks
    return {
        "trend": {
            "type": "line",
            "labels": [format_date(week.monday) for week in weeks],
            "series": [
                {"label": _("Requests"), "data": [w.requests for w in weeks]},
                {"label": _("Approvals"), "data": [w.approvals for w in weeks]},
                {"label": _("Cancellations"), "data": [w.cancellations for w in weeks]},
            ],
        },
        "reasons": {
            "type": "bar",
            "labels": [reason.label for reason in figures.reasons],
            "series": [{"label": _("Items"), "data": [r.units for r in figures.reasons]}],
        },
        "resolutions": {
            "type": "doughnut",
            "labels": [str(RESOLUTION_LABELS.get(k, k)) for k in figures.resolutions],
            "series": [{"label": _("Requests"), "data": list(figures.resolutions.values())}],
        },
    }


def init_admin(app) -> Admin:
    admin = Admin(
        app,
        name="ReturnDesk",
        theme=Bootstrap4Theme(base_template="admin/returndesk_base.html", fluid=True),
        index_view=HomeView(name=_l("Dashboard"), url="/admin"),
    )
    from request_views import RequestView

    admin.add_view(RequestView(ReturnRequest, db, name=_l("Requests"), endpoint="requests"))
    from return_views import CarrierAccountView, ReturnView

    admin.add_view(ReturnView(Return, db, name=_l("Returns"), endpoint="returns"))
    admin.add_view(OrderView(Order, db, name=_l("Orders"), endpoint="orders"))
    admin.add_view(
        CarrierAccountView(
            CarrierAccount, db, name=_l("Carriers"), endpoint="carriers", category=_l("Settings")
        )
    )
    admin.add_view(
        ReviewStageView(
            ReviewStage, db, name=_l("Review stages"), endpoint="stages", category=_l("Settings")
        )
    )
    admin.add_view(
        OutboxView(OutboundEmail, db, name=_l("Outbox"), endpoint="outbox", category=_l("Settings"))
    )
    from shop_settings_views import ShopSettingsView  # imports StaffOnly from this module
    from team_views import TeamView  # here: team_views imports StaffOnly from this module

    admin.add_view(TeamView(name=_l("Team"), endpoint="team", category=_l("Settings")))
    admin.add_view(
        ShopSettingsView(
            name=_l("Shop settings"), endpoint="shop_settings", category=_l("Settings")
        )
    )
    admin.add_view(ShopView(Shop, db, name=_l("Shops"), endpoint="shops", category=_l("Platform")))
    admin.add_view(UserView(User, db, name=_l("Users"), endpoint="users", category=_l("Platform")))
    import support_views

    support_views.register(admin)
    return admin
