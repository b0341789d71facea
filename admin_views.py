"""Flask-Admin views. Tenancy is one mechanism here: ``ShopScopedView``.

Every list, count, detail, edit, delete and export of a shop's data goes through
``ShopScopedView.scope()``, which keeps only the shops where the user has the view's
``read_role`` (support sees all); every edit, delete and list action is checked per row
against the shops where the user has its ``change_role``. Both ask ``User.shop_ids``, the
one tenancy rule. Row and bulk actions that change a status call workflow.py.
"""

from __future__ import annotations

import logging
from functools import wraps
from pathlib import Path

import flask_admin
from flask import abort, flash, redirect, request, url_for
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
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from markupsafe import Markup
from sqlalchemy import inspect, select
from werkzeug.exceptions import HTTPException

import dashboard
import emails
import notices
import tasks
from csp import csp_nonce
from extensions import db
from formatting import TIME_ZONES, language, shop_time
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

log = logging.getLogger(__name__)

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


def visible_shops(min_role: str = "agent") -> list[Shop]:
    """The shops where the current user has ``min_role`` or a stronger one, by name."""
    return shops_among(current_user.shop_ids(min_role))


def shops_among(shop_ids: list[int] | None) -> list[Shop]:
    """These shops by name; ``None`` means every shop."""
    query = select(Shop).order_by(Shop.name)
    if shop_ids is not None:
        query = query.where(Shop.id.in_(shop_ids))
    return list(db.session.scalars(query))


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
    """A model view that only ever shows or changes rows of shops where the user has the role.

    ``read_role`` may list and read a shop's rows here, ``change_role`` may create, edit and
    delete them and run the list's actions on them; both are checked per shop and per row
    (``User.shop_ids``). ``shop_column`` names how to reach the owning shop: the model's own
    ``shop_id`` by default; views of child rows set ``shop_join`` to the parent to join through.
    """

    shop_join = None
    page_size = 50
    can_view_details = True
    named_filter_urls = True
    read_role = "agent"
    change_role = "admin"

    def is_accessible(self) -> bool:
        return super().is_accessible() and self.readable_shop_ids() != []

    def readable_shop_ids(self) -> list[int] | None:
        """The shops whose rows the user reads here; ``None`` is every shop."""
        return current_user.shop_ids(self.read_role)

    def changeable_shop_ids(self) -> list[int] | None:
        """The shops whose rows the user creates, edits, deletes and acts on here."""
        return current_user.shop_ids(self.change_role)

    def may_change(self, shop_id: int | None) -> bool:
        shop_ids = self.changeable_shop_ids()
        return shop_ids is None or shop_id in shop_ids

    def shop_column(self):
        return (self.shop_join or self.model).shop_id

    def in_shops(self, query, shop_ids: list[int] | None):
        if self.shop_join is not None:
            query = query.join(self.shop_join)
        if shop_ids is None:
            return query
        return query.filter(self.shop_column().in_(shop_ids))

    def scope(self, query):
        """Only the rows the user may read."""
        return self.in_shops(query, self.readable_shop_ids())

    def changeable(self, query):
        """Only the rows the user may change."""
        return self.in_shops(query, self.changeable_shop_ids())

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def init_actions(self) -> None:
        """Every list action (delete included) runs on the ticked rows the user may change;
        the others are left out, whatever the form posted. (Flask-Admin keeps each action's
        handler in ``_actions_data``; each is wrapped once, here.)"""
        super().init_actions()
        self._actions_data = {
            name: (self.on_changeable_rows(handler), text, confirmation)
            for name, (handler, text, confirmation) in self._actions_data.items()
        }

    def on_changeable_rows(self, handler):
        @wraps(handler)
        def run(ids):
            return handler(self.changeable_ids(ids))

        return run

    def changeable_ids(self, ids) -> list[str]:
        query = self.changeable(db.session.query(self.model.id))
        return [str(row_id) for (row_id,) in query.filter(self.model.id.in_(row_ids(ids)))]

    def get_one(self, id):
        """A row of another shop is simply not found, whatever the URL says (``scope``); a row
        fetched to be changed (the edit page, any POST) must be of a shop where the user may
        change it."""
        obj = super().get_one(id)
        being_changed = request.method == "POST" or request.endpoint == f"{self.endpoint}.edit_view"
        if being_changed and not self.may_change(self.owning_shop_id(obj)):
            abort(403)
        return obj

    def may_edit(self) -> bool:
        """Whether to offer creating, editing and deleting at all; each row is checked too."""
        return self.changeable_shop_ids() != []

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
        """Refuse to save a row into a shop where the user may not change rows."""
        if not self.may_change(self.owning_shop_id(model)):
            abort(403)

    def owning_shop_id(self, model) -> int | None:
        """The row's shop, as its form may just have set it: a newly chosen ``shop`` (not yet
        flushed into ``shop_id``), else ``shop_id``."""
        if self.shop_join is not None:
            parent = getattr(model, self.shop_join.__name__.lower(), None)
            return parent.shop_id if parent else None
        state = inspect(model)
        chosen = state.attrs.shop.history.added if "shop" in state.attrs else ()
        if chosen:
            return chosen[0].id if chosen[0] is not None else None
        return model.shop_id

    def scoped_shops(self) -> list[Shop]:
        """The shops a row may be put in: where the user may change rows."""
        return shops_among(self.changeable_shop_ids())

    def create_form(self, obj=None):
        return self._limit_shop_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._limit_shop_choices(super().edit_form(obj))

    def _limit_shop_choices(self, form):
        if hasattr(form, "shop"):
            form.shop.query_factory = self.scoped_shops
        return form

    def handle_view_exception(self, exc: Exception) -> bool:
        """A refusal is an HTTP error, not a "failed to save" flash."""
        if isinstance(exc, HTTPException):
            raise exc
        return super().handle_view_exception(exc)


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


LINK_HIDDEN = _l("Link hidden: this email opens an account, so only its recipient reads it.")


def email_parts(model: OutboundEmail) -> tuple[str, str, str | None]:
    """What the Outbox shows an email says, or for an unwritten one what it would say if
    written now. Of an email that carries a credential it shows the subject only."""
    if model.carries_credential:
        return model.subject, str(LINK_HIDDEN), None
    if model.written or model.request is None:
        return model.subject, model.body_text, model.body_html
    return emails.render_unwritten(model)


def email_preview(view, context, model, name) -> Markup:
    _subject, text, html = email_parts(model)
    if html is None:
        return Markup('<p class="text-muted">{}</p>').format(text)
    return Markup(
        '<iframe sandbox="" title="{}" style="width:100%;height:480px;border:1px solid #ddd"'
        ' srcdoc="{}"></iframe>'
    ).format(_("Email preview"), html)


EMAIL_STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}
EMAIL_STATUS_BADGES = {
    "pending": "secondary",
    "sending": "info",
    "sent": "success",
    "failed": "danger",
}


def email_status(view, context, model, name) -> Markup:
    """The email's status; one that is failing says when it is tried next."""
    if model.failing:
        when = shop_time(model.next_attempt_at, model.shop) or _("as soon as possible")
        return Markup('<span class="badge badge-warning">{}</span>').format(
            _("Failing, next attempt %(when)s", when=when)
        )
    return Markup('<span class="badge badge-{}">{}</span>').format(
        EMAIL_STATUS_BADGES.get(model.status, "light"),
        EMAIL_STATUS_LABELS.get(model.status, model.status),
    )


class OutboxView(ShopScopedView):
    """Every email, sent or not: without MAIL_SERVER they wait here, readable.

    A shop's emails are for its admins (agents have no access), platform emails for support;
    an email that carries a credential (invite, password reset) shows no body to anyone.
    Emails that could not be sent are flagged; the readers can send a failed or failing email
    again at once ("Retry now").
    """

    read_role = "admin"
    list_template = "admin/outbox/list.html"
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
    column_formatters = {"subject": unwritten_subject, "status": email_status}
    column_formatters_detail = {
        "subject": lambda view, context, model, name: email_parts(model)[0],
        "status": email_status,
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

    @expose("/")
    def index_view(self):
        """The list, under a banner counting the emails that could not be sent."""
        self._template_args["email_trouble"] = dashboard.email_trouble(self.readable_shop_ids())
        return super().index_view()

    def may_retry(self, email: OutboundEmail) -> bool:
        """Whether "Retry now" is offered for this email to this user."""
        if email.status != "failed" and not email.failing:
            return False
        return self.may_change(email.shop_id)

    def is_action_allowed(self, name: str) -> bool:
        if name == "retry":
            return self.may_edit()
        return super().is_action_allowed(name)

    @action("retry", _l("Retry now"))
    def action_retry(self, ids: list[str]) -> None:
        """Send the chosen failed or failing emails again now, with a fresh schedule (the ids
        are those of shops the user administers: ``init_actions`` narrowed them)."""
        retried = tasks.retry_emails_now(row_ids(ids))
        log.info("%s chose Retry now for emails %s", current_user.email, retried)
        flash(_("%(count)s emails handed to the job runner.", count=len(retried)), "success")


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

    def on_model_change(self, form, model, is_created) -> None:
        """(De)activating a user or changing whether they are support logs them out everywhere."""
        attrs = inspect(model).attrs
        if not is_created and any(attrs[n].history.has_changes() for n in ("active", "is_support")):
            model.end_sessions()


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
            email_trouble=email_trouble_for_admins(shops, chosen),
            charts=dashboard_charts(figures) if figures else {},
            status_labels=STATUS_LABELS,
            resolution_labels=RESOLUTION_LABELS,
            duration=format_duration,
        )


def email_trouble_for_admins(shops: list[Shop], chosen: Shop | None):
    """The emails that could not be sent, for the shops of the selection the user administers
    (support: every shop, and the platform's own emails when no shop is chosen); ``None``
    when the user administers none of them."""
    if current_user.is_support and chosen is None:
        return dashboard.email_trouble(None)
    selection = [chosen] if chosen else shops
    administered = [shop.id for shop in selection if current_user.is_admin_of(shop.id)]
    return dashboard.email_trouble(administered) if administered else None


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


def serve_flask_admin_originals(app) -> None:
    """Make Flask-Admin's own templates reachable as ``flask_admin/<name>``.

    Our templates/admin/ override a few of Flask-Admin's macro files by the same name (to
    drop inline event handlers that the Content-Security-Policy does not run); each imports
    the original under this prefix and reuses every macro it does not change."""
    originals = FileSystemLoader(Path(flask_admin.__file__).parent / "templates" / "bootstrap4")
    app.jinja_loader = ChoiceLoader([app.jinja_loader, PrefixLoader({"flask_admin": originals})])


def init_admin(app) -> Admin:
    serve_flask_admin_originals(app)
    admin = Admin(
        app,
        name="ReturnDesk",
        csp_nonce_generator=csp_nonce,
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
