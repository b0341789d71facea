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

from domain.statuses import ROLE_LABELS
from models import ROLES
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
