"""The Flask-Admin shell: the ``Admin``, its menu and the dashboard home page.

Imported by ``app.py`` alone; the views themselves live in ``web.admin``.
"""

from __future__ import annotations

from pathlib import Path

import flask_admin
import flask_admin.babel
from flask import redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from domain import tenancy
from domain.formatting import language
from domain.statuses import DISPOSITION_LABELS, RESOLUTION_LABELS, STATUS_LABELS
from extensions import db
from models import (
    CarrierAccount,
    EmailTemplate,
    FormQuestion,
    NoticeRule,
    Order,
    OutboundEmail,
    Return,
    ReturnabilityRule,
    ReturnReason,
    ReturnRequest,
    ReviewStage,
    Shop,
    User,
    utcnow,
)
from services import dashboard, retention
from web.admin.assets import asset_url
from web.admin.base import StaffOnly, visible_shops
from web.admin.customer_data import CustomerDataView
from web.admin.email_templates import EmailTemplateView
from web.admin.menu import staff_menu
from web.admin.notice_rules import ManualNoticeView, NoticeRuleView
from web.admin.notifications import NotificationsView, notification_bell
from web.admin.outbox import OutboxView
from web.admin.plain_rows import ShopChoice, shop_choices
from web.admin.requests import RequestView
from web.admin.return_form import FormQuestionView, ReturnReasonView
from web.admin.returnability import ReturnabilityRuleView
from web.admin.returns import CarrierAccountView, ReturnView
from web.admin.shop_settings import ShopSettingsView
from web.admin.tables import OrderView, ReviewStageView, ShopView, UserView
from web.admin.team import TeamView
from web.csp import csp_nonce


class HomeView(StaffOnly, AdminIndexView):
    """The admin index: the dashboard of the user's shops (all or one) for a chosen period."""

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.url))
        shops = visible_shops()
        chosen = next((s for s in shops if str(s.id) == request.args.get("shop")), None)
        shop_ids = [chosen.id] if chosen else [s.id for s in shops]
        now = utcnow()
        period = dashboard.period_from_args(request.args, now)
        figures = dashboard.figures(shop_ids, period, now, language()) if shops else None
        return self.render(
            "admin/dashboard.html",
            shops=shop_choices(shops),
            chosen=ShopChoice.of(chosen) if chosen else None,
            period=period,
            period_days=dashboard.PERIOD_DAYS,
            figures=figures,
            email_trouble=email_trouble_for_admins(shops, chosen),
            failed_refunds=dashboard.failed_refunds(shop_ids) if shops else [],
            # Platform work, not a shop's: support alone sees how the retention job went.
            retention_run=retention.last_run() if current_user.is_support else None,
            retention_checked=current_user.is_support,
            charts=dashboard_charts(figures) if figures else {},
            status_labels=STATUS_LABELS,
            resolution_labels=RESOLUTION_LABELS,
            disposition_labels=DISPOSITION_LABELS,
            duration=format_duration,
        )


def email_trouble_for_admins(shops: list[Shop], chosen: Shop | None):
    """The emails that could not be sent, for the shops of the selection the user administers
    (support: every shop, and the platform's own emails when no shop is chosen); ``None``
    when the user administers none of them."""
    if current_user.is_support and chosen is None:
        return dashboard.email_trouble(None)
    selection = [chosen] if chosen else shops
    administered = [shop.id for shop in selection if tenancy.is_admin_of(current_user, shop.id)]
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


def read_our_admin_words_last() -> None:
    """Let ``translations/<lang>/LC_MESSAGES/admin.po`` correct Flask-Admin's own words.

    Flask-Admin translates its buttons and menus from its own "admin" catalog, through one
    Flask-Babel domain (``flask_admin.babel.domain``) that merges its directories in order, the
    later winning; ``Admin(translations_path=…)`` is read *before* Flask-Admin's catalog, so it
    can add words but not correct them ("Reset Filters" stays English in Dutch, page sizes
    count "artikelen", the delete questions say "u"). Our directory goes after it instead."""
    domain = flask_admin.babel.domain
    ours = app_translations()
    if ours not in domain._translation_directories:
        domain._translation_directories = [*domain._translation_directories, ours]


def app_translations() -> str:
    return str(Path(__file__).parent / "translations")


def init_admin(app) -> Admin:
    serve_flask_admin_originals(app)
    read_our_admin_words_last()
    admin = Admin(
        app,
        name="ReturnDesk",
        csp_nonce_generator=csp_nonce,
        theme=Bootstrap4Theme(base_template="admin/returndesk_base.html", fluid=True),
        index_view=HomeView(name=_l("Dashboard"), url="/admin"),
    )
    app.jinja_env.globals.update(
        asset_url=asset_url, notification_bell=notification_bell, staff_menu=staff_menu
    )
    admin.add_view(
        NotificationsView(
            name=_l("Your notifications"), endpoint="notifications", url="notifications"
        )
    )
    admin.add_view(RequestView(ReturnRequest, db, name=_l("Requests"), endpoint="requests"))
    admin.add_view(ReturnView(Return, db, name=_l("Returns"), endpoint="returns"))
    admin.add_view(OrderView(Order, db, name=_l("Orders"), endpoint="orders"))
    admin.add_view(
        CustomerDataView(name=_l("Customer data"), endpoint="customer_data", url="customer-data")
    )
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
        ReturnabilityRuleView(
            ReturnabilityRule,
            db,
            name=_l("Non-returnable items"),
            endpoint="returnability",
            category=_l("Settings"),
        )
    )
    admin.add_view(
        OutboxView(OutboundEmail, db, name=_l("Outbox"), endpoint="outbox", category=_l("Settings"))
    )
    admin.add_view(TeamView(name=_l("Team"), endpoint="team", category=_l("Settings")))
    admin.add_view(
        ShopSettingsView(
            name=_l("Shop settings"), endpoint="shop_settings", category=_l("Settings")
        )
    )
    admin.add_view(ShopView(Shop, db, name=_l("Shops"), endpoint="shops", category=_l("Platform")))
    admin.add_view(UserView(User, db, name=_l("Users"), endpoint="users", category=_l("Platform")))
    settings = _l("Return form & notices")
    admin.add_view(
        ReturnReasonView(
            ReturnReason,
            db,
            name=_l("Return reasons"),
            endpoint="reasons",
            category=settings,
        )
    )
    admin.add_view(
        FormQuestionView(
            FormQuestion,
            db,
            name=_l("Form questions"),
            endpoint="questions",
            category=settings,
        )
    )
    admin.add_view(
        NoticeRuleView(NoticeRule, db, name=_l("Notice rules"), endpoint="rules", category=settings)
    )
    admin.add_view(
        ManualNoticeView(
            name=_l("Add a notice"),
            endpoint="manual_notice",
            url="manual-notice",
            category=settings,
        )
    )
    admin.add_view(
        EmailTemplateView(
            EmailTemplate,
            db,
            name=_l("Email templates"),
            endpoint="email_templates",
            category=settings,
        )
    )
    return admin
