"""Forms of the staff pages: login, password reset, account and team (Flask-WTF, with CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from domain import notifications
from domain.statuses import NOTIFICATION_KIND_LABELS, ROLE_LABELS
from models import ROLES, User
from web.int_args import MAX_INT

PASSWORD_MIN_LENGTH = 10
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]


def language_choices() -> list[SelectChoice]:
    return [
        SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGE_NAMES.items()
    ]


class LoginForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email()])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(
                min=PASSWORD_MIN_LENGTH,
                message=_l("Use at least %(min)d characters.", min=PASSWORD_MIN_LENGTH),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class AccountForm(FlaskForm):
    language = SelectField(
        _l("Language"),
        choices=lambda: [SelectChoice("", _l("Same as my browser")), *language_choices()],
        validators=[Optional()],
    )
    notify_new_requests = BooleanField(_l("Email me about new requests"))


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=language_choices)
    next = HiddenField()


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    shop_id = SelectField(_l("Shop"), coerce=int)
    role = SelectField(_l("Role"), choices=role_choices, default="agent")


class ChangeRoleForm(FlaskForm):
    membership_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_INT)])
    role = SelectField(_l("Role"), choices=role_choices)


class RemoveMemberForm(FlaskForm):
    membership_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_INT)])


class CustomerSearchForm(FlaskForm):
    """Customer data: an email address or an order number (posted, so the address stays out
    of URLs and access logs)."""

    query = StringField(
        _l("Email address or order number"), validators=[DataRequired(), Length(max=254)]
    )


class CustomerForm(FlaskForm):
    """Customer data: the customer an export or an erasure is for."""

    email = HiddenField(validators=[DataRequired(), Length(max=254)])


class MarkAllReadForm(FlaskForm):
    """The notifications page's "Mark all read": a button and its CSRF token."""


class EmailChoicesForm(FlaskForm):
    """Which kinds of notification also come by email (``email_choices_form``)."""

    kinds = SelectMultipleField(
        _l("Also by email"),
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def email_choices_form(user: User, formdata=None) -> EmailChoicesForm:
    """The kinds ``user`` may be told of as checkboxes, ticked as they chose (or, with
    ``formdata``, as submitted)."""
    form = EmailChoicesForm(formdata=formdata)
    form.kinds.choices = [
        SelectChoice(kind, NOTIFICATION_KIND_LABELS[kind]) for kind in notifications.kinds_for(user)
    ]
    if formdata is None:
        form.kinds.data = notifications.email_choices(user)
    return form
