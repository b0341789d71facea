"""The staff navbar's menu, rendered once per distinct answer to "what may this user reach".

Flask-Admin's ``layout.menu()`` macro asks every view ``is_accessible()`` (most of them twice:
for its category and for itself), translates every name and builds the items' HTML, on every
staff page. Its HTML depends only on which items the user may reach and see, the language,
the page's view (marked active) and where the app is mounted. ``staff_menu`` asks every view
its questions afresh on each request, as the macro would, so a membership or role that changed
a moment ago counts at once, and renders the macro only for a combination of answers it has
not rendered before. Nothing about a user is kept: two users with the same answers share the
HTML, which holds no more than those answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from weakref import WeakKeyDictionary

from flask import render_template, request
from flask_admin import Admin, BaseView
from flask_admin.menu import BaseMenu
from flask_babel import get_locale
from markupsafe import Markup

from domain.formal_address import is_formal

# Well above the combinations there are (languages x views x the reachable sets of a few
# roles); the cache starts afresh rather than grow without bound past it.
MAX_RENDERED = 1024

# Per Admin (an app has one; the tests make many apps in one process).
_rendered: WeakKeyDictionary[Admin, dict[tuple, Markup]] = WeakKeyDictionary()


def staff_menu(admin_view: BaseView) -> Markup:
    """The menu's ``<li>`` items for the current user on ``admin_view``'s page, as
    ``layout.menu()`` renders them."""
    admin = admin_view.admin
    key = (
        str(get_locale()),
        is_formal(),
        request.script_root,
        admin_view.endpoint,
        tuple(reachable(admin.menu())),
    )
    rendered = _rendered.setdefault(admin, {})
    html = rendered.get(key)
    if html is None:
        # What the autoescaping template rendered.
        html = Markup(render_template("admin/_menu.html", admin_view=admin_view))  # noqa: S704
        if len(rendered) >= MAX_RENDERED:
            rendered.clear()
        rendered[key] = html
    return html


def reachable(items: Iterable[BaseMenu]) -> Iterable[tuple[bool, bool]]:
    """``(is_accessible(), is_visible())`` of every view and link in the menu's tree, depth
    first. A category's own answers (any child's) and which children it shows follow from
    these; ``_children`` holds them all (``get_children()`` only the shown ones)."""
    for item in items:
        if not item.is_category():
            yield item.is_accessible(), item.is_visible()
        yield from reachable(item._children)
