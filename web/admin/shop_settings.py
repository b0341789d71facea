"""The shop's settings page in the admin, for the shop's admins and platform support.

Branding, languages, return and withdrawal windows, resolutions, shipping policy, return
address and the notification address. The portal reads the shop row on every request, so
a saved change shows there at once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from domain.emails import ALWAYS_SENT, SWITCHABLE_EMAILS, switched_off
from domain.formatting import TIME_ZONES
from domain.retention import TRIM_AFTER, anonymise_minimum_months
from domain.ship_by import REMINDER_DAYS
from domain.statuses import EMAIL_LABELS, RESOLUTION_LABELS
from extensions import db
from models import (
    DEFAULT_ANONYMISE_AFTER_MONTHS,
    DEFAULT_BOOKS_RETENTION_YEARS,
    DEFAULT_FILE_RETENTION_MONTHS,
    Shop,
)
from web.admin.base import StaffOnly, visible_shops
from web.admin.plain_rows import ShopChoice, shop_choices

LANGUAGE_CHOICES = [SelectChoice("nl", _l("Dutch")), SelectChoice("en", _l("English"))]
# A path on this site: one leading slash (not "//", another site), no spaces or backslashes.
SITE_PATH = re.compile(r"/(?![/\\])[^\s\\]*")
NO_SPACE = re.compile(r"\S+")
RESOLUTION_CHOICES = [SelectChoice(code, label) for code, label in RESOLUTION_LABELS.items()]
EMAIL_CHOICES = [SelectChoice(kind, EMAIL_LABELS[kind]) for kind in SWITCHABLE_EMAILS]


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes (usable without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def at_least_one(form, field) -> None:
    if not field.data:
        raise ValidationError(_("Choose at least one."))


def is_web_address(value: str) -> bool:
    """An http(s) address with a host name."""
    try:
        address = urlsplit(value)
        return address.scheme in ("http", "https") and bool(address.hostname)
    except ValueError:  # e.g. an unclosed IPv6 host "http://[::1"
        return False


def logo_address(form, field) -> None:
    """A logo is loaded by the customer's browser and mail reader: a full http(s) address,
    or a path on this site (emails make it full, see ``links.absolute``). Nothing else, so no
    ``javascript:`` or ``data:`` address and no other site's ``//host/…`` slips in."""
    value = field.data.strip()
    if not (SITE_PATH.fullmatch(value) or (is_web_address(value) and NO_SPACE.fullmatch(value))):
        raise ValidationError(_("Use a full address (https://…) or a path like /static/logo.png."))


def secure_web_address(form, field) -> None:
    """A page customers open from the portal: a full https address, nothing else."""
    value = field.data.strip()
    if not (is_web_address(value) and urlsplit(value).scheme == "https"):
        raise ValidationError(_("Use a full address starting with https://."))
    if not NO_SPACE.fullmatch(value):
        raise ValidationError(_("An address has no spaces."))


class ShopSettingsForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=120)])
    logo_url = StringField(
        _l("Logo URL"),
        validators=[Optional(), logo_address, Length(max=500)],
        description=_l("A full address (https://…) or a path on this site (/static/…)."),
    )
    brand_color = StringField(
        _l("Brand colour"),
        validators=[
            DataRequired(),
            Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Use a colour like #1a2b3c.")),
        ],
    )
    languages = CheckboxesField(
        _l("Languages of the portal"), choices=LANGUAGE_CHOICES, validators=[at_least_one]
    )
    default_language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    address_formally = BooleanField(
        _l("Address customers formally (u)"),
        description=_l(
            "The portal, status page and emails say “u” and “uw” to your "
            "customers in Dutch instead of “je” and “jouw”."
        ),
    )
    return_window_days = IntegerField(
        _l("Return window (days after delivery)"), validators=[NumberRange(min=0, max=365)]
    )
    withdrawal_window_days = IntegerField(
        _l("Withdrawal period (days after delivery)"),
        validators=[NumberRange(min=14, max=365)],
        description=_l("EU law asks for at least 14 days."),
    )
    ship_by_days = IntegerField(
        _l("Ship-by deadline (days after approval)"),
        validators=[Optional(), NumberRange(min=0, max=365)],
        description=_l(
            "The customer must create the return label within this many days of approval, "
            "is reminded %(days)d days before, and the request expires after. Empty or 0: no "
            "deadline.",
            days=REMINDER_DAYS,
        ),
    )
    file_retention_months = IntegerField(
        _l("Keep photos and message files (months after the request is closed)"),
        validators=[Optional(), NumberRange(min=1, max=120)],
        default=DEFAULT_FILE_RETENTION_MONTHS,
        description=_l(
            "Then they are deleted; the request itself, its numbers and amounts stay. "
            "Empty: %(months)d months.",
            months=DEFAULT_FILE_RETENTION_MONTHS,
        ),
    )
    anonymise_after_months = IntegerField(
        _l("Anonymise requests (months after the request is closed)"),
        validators=[Optional(), NumberRange(min=1, max=240)],
        default=DEFAULT_ANONYMISE_AFTER_MONTHS,
        description=_l(
            "Then the customer's name, address, email, comments and messages are removed and "
            "their files deleted; order and request numbers, amounts, dates, products and "
            "resolutions stay for your books. Empty: %(months)d months.",
            months=DEFAULT_ANONYMISE_AFTER_MONTHS,
        ),
    )
    books_retention_years = IntegerField(
        _l("Keep financial records (years)"),
        validators=[Optional(), NumberRange(min=1, max=30)],
        default=DEFAULT_BOOKS_RETENTION_YEARS,
        description=_l(
            "The legal minimum for your books (in the Netherlands 7 years). Anonymising keeps "
            "the numbers and amounts, so it may come sooner. Empty: %(years)d years.",
            years=DEFAULT_BOOKS_RETENTION_YEARS,
        ),
    )
    books_need_customer = BooleanField(
        _l("My books also need the customer's name and address for that long"),
        description=_l(
            "Then requests are anonymised no sooner than the legal minimum for your books."
        ),
    )
    privacy_url = StringField(
        _l("Privacy statement (URL)"),
        validators=[Optional(), secure_web_address, Length(max=500)],
        description=_l(
            "Your privacy statement (https://…), linked at the bottom of every page of the "
            "return portal. Empty: no link."
        ),
    )
    offered_resolutions = CheckboxesField(
        _l("Resolutions offered"), choices=RESOLUTION_CHOICES, validators=[at_least_one]
    )
    free_shipping_resolutions = CheckboxesField(
        _l("Free return shipping for"), choices=RESOLUTION_CHOICES
    )
    return_fee = DecimalField(
        _l("Return fee otherwise"), places=2, validators=[NumberRange(min=0, max=1000)]
    )
    return_address_name = StringField(_l("Return address: name"), validators=[Length(max=120)])
    return_address_street = StringField(_l("Street and number"), validators=[Length(max=200)])
    return_address_postcode = StringField(_l("Postcode"), validators=[Length(max=20)])
    return_address_city = StringField(_l("City"), validators=[Length(max=100)])
    return_address_country = StringField(
        _l("Country code"),
        validators=[Regexp(r"^[A-Za-z]{2}$", message=_l("Use a two-letter code like NL."))],
    )
    time_zone = SelectField(
        _l("Time zone"),
        choices=TIME_ZONES,
        description=_l("Times are shown, and working hours for stale holds counted, in this zone."),
    )
    customer_emails = CheckboxesField(
        _l("Emails the customer gets"),
        choices=EMAIL_CHOICES,
        description=_l(
            "Untick an email to stop sending it; the request's history then says it was not "
            "sent. Messages your staff write to a customer are always sent."
        ),
    )
    notification_email = EmailField(
        _l("Notify new requests to"),
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
    )

    def validate_anonymise_after_months(self, field) -> None:
        months = field.data or DEFAULT_ANONYMISE_AFTER_MONTHS
        years = self.books_retention_years.data or DEFAULT_BOOKS_RETENTION_YEARS
        minimum = anonymise_minimum_months(years, self.books_need_customer.data)
        if months < minimum:
            raise ValidationError(
                _(
                    "Your books need the customer's details for %(years)d years: anonymise "
                    "after %(months)d months at the earliest.",
                    years=years,
                    months=minimum,
                )
            )

    def validate_default_language(self, field) -> None:
        if self.languages.data and field.data not in self.languages.data:
            raise ValidationError(_("The default language must be one of the portal's languages."))


def form_for(shop: Shop) -> ShopSettingsForm:
    """The form filled from the shop, or from the posted data."""
    form = ShopSettingsForm(obj=shop)
    if request.method == "GET":
        form.languages.data = shop.language_list
        form.offered_resolutions.data = shop.resolution_list
        form.free_shipping_resolutions.data = shop.free_shipping_list
        form.return_fee.data = Decimal(shop.return_fee_cents) / 100
        form.customer_emails.data = [
            kind for kind in SWITCHABLE_EMAILS if kind not in switched_off(shop)
        ]
    return form


def in_order(choices: list, chosen: list[str] | None) -> str:
    """The chosen codes, comma-separated, in the order of the choices."""
    return ",".join(choice.value for choice in choices if choice.value in (chosen or []))


def apply(form: ShopSettingsForm, shop: Shop) -> None:
    """Copy the validated form onto the shop."""
    for name in (
        "name",
        "brand_color",
        "default_language",
        "address_formally",
        "return_window_days",
        "withdrawal_window_days",
        "return_address_name",
        "return_address_street",
        "return_address_postcode",
        "return_address_city",
        "time_zone",
    ):
        setattr(shop, name, getattr(form, name).data)
    shop.logo_url = (form.logo_url.data or "").strip() or None
    shop.notification_email = (form.notification_email.data or "").strip().lower() or None
    shop.return_address_country = form.return_address_country.data.upper()
    shop.languages = in_order(LANGUAGE_CHOICES, form.languages.data)
    shop.offered_resolutions = in_order(RESOLUTION_CHOICES, form.offered_resolutions.data)
    shop.free_shipping_resolutions = in_order(
        RESOLUTION_CHOICES, form.free_shipping_resolutions.data
    )
    shop.return_fee_cents = int((form.return_fee.data * 100).to_integral_value())
    shop.ship_by_days = form.ship_by_days.data or None
    shop.file_retention_months = form.file_retention_months.data or DEFAULT_FILE_RETENTION_MONTHS
    shop.anonymise_after_months = form.anonymise_after_months.data or DEFAULT_ANONYMISE_AFTER_MONTHS
    shop.books_retention_years = form.books_retention_years.data or DEFAULT_BOOKS_RETENTION_YEARS
    shop.books_need_customer = form.books_need_customer.data
    shop.privacy_url = (form.privacy_url.data or "").strip() or None
    sent = form.customer_emails.data or []
    shop.emails_off = ",".join(kind for kind in SWITCHABLE_EMAILS if kind not in sent)


class ShopSettingsView(StaffOnly, BaseView):
    """Settings of the shops the user administers (support: every shop)."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and bool(self.editable_shops())

    def editable_shops(self) -> list[Shop]:
        return visible_shops("admin")

    @expose("/")
    def index(self):
        shops = self.editable_shops()
        if len(shops) == 1:
            return redirect(url_for(".edit", shop_id=shops[0].id))
        return self.render("admin/shop_settings_list.html", shops=shop_choices(shops))

    @expose("/<int:shop_id>", methods=["GET", "POST"])
    def edit(self, shop_id: int):
        shop = next((s for s in self.editable_shops() if s.id == shop_id), None)
        if shop is None:
            abort(404)
        form = form_for(shop)
        if form.validate_on_submit():
            apply(form, shop)
            db.session.commit()
            flash(_("The settings of %(shop)s were saved.", shop=shop.name), "success")
            return redirect(url_for(".edit", shop_id=shop.id))
        return self.render(
            "admin/shop_settings.html",
            shop=ShopChoice.of(shop),
            form=form,
            always_sent=[EMAIL_LABELS[kind] for kind in ALWAYS_SENT],
            portal_url=url_for("portal.lookup", slug=shop.slug),
            trim_days=TRIM_AFTER.days,
        )
