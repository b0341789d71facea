"""The bell in the staff navbar and the notifications page behind it.

What a user is told of is decided in ``domain.notifications``; here it is shown: the unread
count on every staff page (rendered with the page, so it works without JavaScript, and kept
current by ``static/notifications.js`` polling ``count``), the list of entries as sentences
with links to their requests (opening a request reads its entries: ``RequestView.page``)
and "Mark all read"; and the user's choice of what also comes by email, which the
account's routes save with the user's other settings (``web.auth``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, g, jsonify, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from domain import notifications
from extensions import db
from web.admin.base import StaffOnly
from web.staff_forms import MarkAllReadForm, email_choices_form


@dataclass(frozen=True)
class Bell:
    """The navbar's bell: how many entries are unread, and what a screen reader says."""

    count: int
    label: str


def bell_for(count: int) -> Bell:
    if count:
        return Bell(count, _("Notifications, %(count)s unread", count=count))
    return Bell(0, _("Notifications, none unread"))


def notification_bell() -> Bell | None:
    """The current user's bell, for the navbar of every staff page (``None`` logged out)."""
    if not (current_user.is_authenticated and current_user.is_active):
        return None
    counted = g.get(BELL_COUNTED)
    if counted is not None and counted[0] == current_user.id:
        return bell_for(counted[1])
    return bell_for(notifications.unread_count(db.session, current_user))


# Where a page that counted the bell's entries already leaves the count (``bell_counted``).
BELL_COUNTED = "bell_counted"


def bell_counted(count: int) -> None:
    """The page counted the current user's unread entries after its own changes to them
    (the request page, as it reads the request's): the navbar's bell shows this count."""
    setattr(g, BELL_COUNTED, (current_user.id, count))


class NotificationsView(StaffOnly, BaseView):
    """Not in the menu: the bell links here."""

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        return self.render(
            "admin/notifications.html",
            entries=notifications.entries(db.session, current_user),
            read_all_form=MarkAllReadForm(),
            email_form=email_choices_form(current_user),
        )

    @expose("/count")
    def count(self):
        """The bell's count and words, for ``static/notifications.js``."""
        bell = bell_for(notifications.unread_count(db.session, current_user))
        return jsonify(unread=bell.count, label=bell.label)

    @expose("/read-all", methods=("POST",))
    def read_all(self):
        if MarkAllReadForm().validate_on_submit():
            notifications.read_all(db.session, current_user)
            db.session.commit()
            flash(_("All notifications are marked read."), "success")
        return redirect(url_for(".index"))
