"""Staff accounts: login with throttling, logout, password reset, invite acceptance, profile.

Login is throttled with Flask-Limiter (see throttling.py): per client address and account
together (``LOGIN_MAX_FAILURES`` failures stop that address for ``LOGIN_LOCK_MINUTES``, while
the agent elsewhere still logs in), per account from every address (a slowdown that grows
but never locks the agent out), and per client address. Every failure shows the same
message, so the page never tells whether an email address has an account.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from domain import notifications, staff_tokens
from domain.emails import queue_email
from domain.team import user_language
from extensions import db, limiter
from extensions import login as login_manager
from models import User
from web import throttling
from web.same_site import safe_next
from web.staff_forms import (
    PASSWORD_MIN_LENGTH,
    AccountForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    email_choices_form,
)

bp = Blueprint("auth", __name__)

LOGIN_RATE_LIMIT = "20/minute"
# The scope of the limit on failed logins per client address and account, to forget them by.
LOGIN_FAILURES = "login-failures"
FORGOT_RATE_LIMIT = "10/hour"
# Checked against when the email is unknown, so a miss costs as long as a wrong password.
_UNUSABLE_HASH = generate_password_hash("unusable-password")

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
login_manager.localize_callback = str  # a lazy string cannot be stored in the session


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session (or remember cookie) names, if its session version is still theirs.

    ``User.get_id`` wrote ``"<id>:<session version>"``; once the version moved on (logout,
    new password, role change, removal from a shop, deactivation) the session is dead.
    """
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    # With the memberships in the same query: every staff page asks which shops they name.
    user = db.session.get(User, int(user_id), options=[joinedload(User.memberships)])
    if user is None or user.session_version != int(version):
        return None
    return user


@bp.route("/")
def home():
    return redirect(url_for("admin.index"))


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, unless the account is inactive."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.password_hash:
        check_password_hash(_UNUSABLE_HASH, password)
        return None
    password_ok = user.check_password(password)
    return user if password_ok and user.is_active else None


def login_failed(response) -> bool:
    """Only failed logins count against the account's limits."""
    return bool(g.get("login_failed"))


def account_key(email: str | None = None) -> str:
    """The limit key of the account logged in to: ``email``, else the one in the form."""
    email = request.form.get("email", "") if email is None else email
    return "login:" + email.strip().lower()


def client_and_account_key(email: str | None = None) -> str:
    return throttling.client_and(account_key(email))


def forget_failed_logins(user: User) -> None:
    """A good login, or a new password chosen from the emailed link, forgives this address's
    earlier failed logins to the account."""
    limit = client_and_account_limit()
    throttling.forget(limit, client_and_account_key(user.email), LOGIN_FAILURES)


def client_and_account_limit() -> str:
    """Failed logins to one account from one client address."""
    config = current_app.config
    return f"{config['LOGIN_MAX_FAILURES']} per {config['LOGIN_LOCK_MINUTES']} minutes"


def failed_login_message() -> str:
    return _(
        "Unknown email address or wrong password. After %(count)d failed attempts, "
        "logging in is blocked for %(minutes)d minutes.",
        count=current_app.config["LOGIN_MAX_FAILURES"],
        minutes=current_app.config["LOGIN_LOCK_MINUTES"],
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE_LIMIT, methods=["POST"])
@limiter.shared_limit(
    client_and_account_limit,
    LOGIN_FAILURES,
    key_func=client_and_account_key,
    methods=["POST"],
    deduct_when=login_failed,
)
@limiter.limit(
    throttling.slowdown, key_func=account_key, methods=["POST"], deduct_when=login_failed
)
def login():
    """Log in with email and password, then go on to a same-host ``next``."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            forget_failed_logins(user)
            login_user(user)
            return redirect(safe_next(form.next.data, url_for("admin.index")))
        g.login_failed = True
        flash(failed_login_message(), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out here and everywhere else: a copy of the session cookie dies with it."""
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(FORGOT_RATE_LIMIT, methods=["POST"])
def forgot_password():
    """Email a reset link if the address has an account; answer the same either way."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.is_active:
            send_password_reset(user)
        flash(
            _(
                "If %(email)s belongs to an account, we have sent it a link to choose a new "
                "password. The link works for one hour.",
                email=email,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


def send_password_reset(user: User) -> None:
    link = staff_tokens.link_for(user, staff_tokens.RESET)
    queue_email("password_reset", user.email, user_language(user), user=user, link=link)
    db.session.commit()


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link; the link dies once used."""
    return set_password_page(token, staff_tokens.RESET, "auth/reset_password.html")


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    """An invited colleague chooses a password; the link dies once used."""
    return set_password_page(token, staff_tokens.INVITE, "auth/accept_invite.html")


def set_password_page(token: str, purpose: str, template: str):
    user = staff_tokens.user_for_token(token, purpose)
    if user is None:
        return render_template("auth/link_expired.html", purpose=purpose), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data)
        db.session.commit()
        forget_failed_logins(user)
        logout_user()
        flash(_("Your password has been set. You can log in now."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        template, form=form, email=user.email, password_min_length=PASSWORD_MIN_LENGTH
    )


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The user's own settings: language and email notifications."""
    form = AccountForm(obj=current_user)
    if request.method == "GET":
        form.language.data = current_user.language or ""
    if form.validate_on_submit():
        current_user.language = form.language.data or None
        current_user.notify_new_requests = form.notify_new_requests.data
        db.session.commit()
        flash(_("Your settings have been saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/account/notification-emails", methods=["POST"])
@login_required
def notification_emails():
    """Which kinds of notification also come by email: the form on the notifications page."""
    form = email_choices_form(current_user, request.form)
    if not form.validate_on_submit():
        abort(400)
    notifications.choose_emails(current_user, form.kinds.data or [])
    db.session.commit()
    flash(_("Your choice of emails has been saved."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/language", methods=["POST"])
def choose_language():
    """The language switch of pages shown before login; remembered in the session."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            current_user.language = form.lang.data
            db.session.commit()
    return redirect(safe_next(form.next.data or request.referrer, url_for("admin.index")))


@bp.app_context_processor
def language_switch() -> dict:
    return {"language_form": LanguageForm}


@bp.app_errorhandler(429)
def too_many_requests(error):
    """A friendly page (or JSON for API clients) when a rate limit is hit."""
    message = throttling.try_again_message()
    if request.accept_mimetypes.best == "application/json":
        return throttling.refusal(jsonify(error="too_many_requests", message=message))
    return throttling.refusal(render_template("errors/429.html", message=message))
