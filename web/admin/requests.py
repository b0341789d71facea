"""The "Requests" (Aanvragen) screens: the list with row and bulk actions, and the request page.

Every decision calls workflow.py; this module only parses, checks access and renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import ImmutableMultiDict

from domain import notifications, workflow
from domain.formal_address import is_formal
from domain.formatting import language, money, shop_time
from domain.settlement import kept_payout_of
from domain.statuses import (
    LINE_DECISION_LABELS,
    REQUEST_ACTION_LABELS,
    RESOLUTION_LABELS,
    status_badge,
)
from extensions import db
from models import (
    CONCEPT,
    Attachment,
    BulkJob,
    Message,
    ReturnRequest,
    ReturnRequestLine,
    ReviewStage,
    among_ids,
    utcnow,
)
from services import (
    bulk_jobs,
    conversation,
    exports,
    refund_jobs,
    request_list,
    request_page,
    storage,
)
from services.request_list import ListedRequest
from web.admin.base import ShopScopedView
from web.admin.filters import CreatedFilter, KeyedFilterMenu
from web.admin.notifications import bell_counted
from web.admin.payouts import PAYOUT_ACTIONS, act_on_refund, payout_panel
from web.admin.plain_rows import JobProgress, stage_choices
from web.admin.request_filters import (
    AwaitingCustomerFilter,
    CappedCountQuery,
    CustomerRepliedFilter,
    HasNoticesFilter,
    HeldByMeFilter,
    ReasonFilter,
    RequestShopFilter,
    ResolutionFilter,
    StatusFilter,
    search_condition,
    visible_stages,
)
from web.int_args import parse_ids, parse_int
from web.same_site import safe_next

# The actions a row offers from the list (when ``workflow.allowed_actions`` does), with their
# colour, in the order of its menu: the likeliest (``workflow.likely_next_step``) is the row's
# one button, the others wait behind its "⋯" menu, so the columns keep their room. Cancel asks
# for a reason: it opens the request page's cancel form; the others post from the row.
ROW_ACTIONS = {
    "approve": "btn-success",
    "release": "btn-outline-hold",
    "hold": "btn-hold",
    "cancel": "btn-danger",
}

# A row of the list, piece by piece, filled with escaped values (``RequestView.row_html``).
ROW_TICK = (
    '<td><input type="checkbox" name="rowid" class="action-checkbox" value="{0}" title="{1}"'
    ' aria-label="{1}"></td>'
)
# One form per row: its buttons (submit buttons, the default) post their ``action`` with the
# page's CSRF token and come back to the list (``next``).
ROW_FORM = (
    '<form method="post" action="{prefix}{id}/act" class="row-actions">'
    '<input type="hidden" name="csrf_token" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">{actions}</form>'
)
ROW_BUTTON = (
    '<button name="action" value="{action}" class="btn btn-sm {css}"'
    ' aria-label="{label} {number}">{label}</button>'
)
ROW_CANCEL = (
    '<a class="btn btn-sm btn-danger" href="{href}#cancel" aria-label="{label} {number}">'
    "{label}</a>"
)
# Without JavaScript ``<details>`` opens and closes the menu; static/requests.js adds Escape.
ROW_MENU = (
    '<details class="row-menu"><summary class="btn btn-sm btn-outline-secondary"'
    ' title="{title}" aria-label="{name}">⋯</summary>'
    '<div class="row-menu-items">{items}</div></details>'
)
ROW_CELL = '<td class="col-{}">{}</td>'
ROW_ACTIONS_CELL = '<td class="list-buttons-column">{}</td>'

# The bulk actions, in the words of their buttons.
BULK_ACTIONS = {name: REQUEST_ACTION_LABELS[name] for name in workflow.BULK_SOURCES}
# The list's own arguments besides its filters (``flt…``): what a bulk action and a request
# page carry along to go back to the list (and the page to find its previous and next).
LIST_KEYS = ("search", "sort", "desc", "page_size", "all")
# The list's default (its open requests): a request page without ``list`` is in this one.
DEFAULT_LIST = {"flt0_status": "open"}
# How far down the list the request page looks for its place (ids only, in the list's order).
PLACE_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class ListPlace:
    """Where a request page sits in the Requests list the agent came from."""

    query: str  # the list's query string, carried along as ``list``
    list_url: str
    previous_url: str | None
    next_url: str | None


def _words(view: RequestView) -> dict:
    """What every row of a list page repeats, looked up once per request instead of once per
    cell: the words of the reader's language (``list_labels``), the status badges written so
    far, the start of a request page's address and its end (the list the page was found in,
    ``list``)."""
    this_request = request._get_current_object()  # type: ignore[attr-defined]
    words = getattr(this_request, "list_words", None)
    if words is None:
        words = this_request.list_words = {
            **list_labels(str(get_locale()), is_formal()),
            "badges": {},
            # The page's route ends in the id: one url_for, not one per row.
            "page_prefix": url_for("requests.page", request_id=0).removesuffix("0"),
        }
        words["page_href"] = escape(words["page_prefix"])
        query = view.list_query(view.came_from())
        words["list_suffix"] = escape("?" + urlencode({"list": query})) if query else ""
    return words


@cache
def list_labels(locale: str, formal: bool) -> dict[str, Any]:
    """The list rows' words in ``locale`` (the current one, formal or not): the ticks, the
    badges, the resolutions and actions. The catalogs never change while the app runs, so
    each language's are translated once."""
    return {
        "language": language(),
        "stale": _("stale"),
        "notices": _("Notices"),
        "free_shipping": escape(_("Free shipping")),
        "customer_replied": escape(_("Customer replied")),
        "select": _("Select %(number)s"),
        "more": escape(_("More actions")),
        "more_of": _("More actions for %(number)s"),
        "resolutions": {key: str(label) for key, label in RESOLUTION_LABELS.items()},
        "actions": {key: str(label) for key, label in REQUEST_ACTION_LABELS.items()},
    }


# The list's cells: each takes the row and the page's words (``_words``) and gives its HTML.
# ``RequestView.row_html`` calls them directly; Flask-Admin's ``column_formatters`` (the live
# updates' ``changes``) through ``_formatter``.


def _number_cell(row: ListedRequest, words: dict) -> Markup:
    # The prefix is escaped in ``_words``, the number here.
    href = f"{words['page_href']}{row.id}{words['list_suffix']}"
    return Markup(f'<a href="{href}">{escape(row.number)}</a>')  # noqa: S704


def _status_cell(row: ListedRequest, words: dict) -> Markup:
    badges = words["badges"]
    badge = badges.get(row.status)
    if badge is None:
        badge = badges[row.status] = status_badge(row.status)
    if row.stage is not None:
        badge += Markup(' <span class="badge" style="background:{};color:#fff">{}</span>').format(
            row.stage.color, row.stage.name(words["language"])
        )
    return badge


def _held_by_cell(row: ListedRequest, words: dict) -> str:
    if row.held_by is None:
        return ""
    if workflow.hold_is_stale(row):
        return Markup('{} <span class="badge badge-light">{}</span>').format(
            row.held_by.name, words["stale"]
        )
    return row.held_by.name


def _notices_cell(row: ListedRequest, words: dict) -> str:
    """The notices' count as a badge whose text (on hover, and read on focus) says them."""
    if not row.notice_count:
        return ""
    texts = "; ".join(notice.text(words["language"]) for notice in row.notices)
    return Markup(
        '<span class="badge badge-warning notice-badge" tabindex="0" title="{0}"'
        ' aria-label="{1}: {0}">! {2}</span>'
    ).format(texts, words["notices"], row.notice_count)


def _yes_cell(flag: bool, text: Markup) -> str:
    if not flag:
        return ""
    # ``text`` is escaped in ``_words``.
    return Markup(f'<span aria-label="{text}" title="{text}">✓</span>')  # noqa: S704


def _resolution_cell(row: ListedRequest, words: dict) -> str:
    label = words["resolutions"].get(row.resolution, row.resolution)
    return "" if label is None else label


CELLS = {
    "number": _number_cell,
    "created_at": lambda row, words: shop_time(row.created_at, row.shop),
    "customer_name": lambda row, words: row.customer_name or "",
    "order_number": lambda row, words: row.order_number or "",
    "item_count": lambda row, words: row.item_count,
    "total_cents": lambda row, words: money(row.total_cents, row.shop.currency, words["language"]),
    "resolution": _resolution_cell,
    "status": _status_cell,
    "held_by": _held_by_cell,
    "notice_count": _notices_cell,
    "free_shipping": lambda row, words: _yes_cell(row.free_shipping, words["free_shipping"]),
    "last_inbound_at": lambda row, words: _yes_cell(
        row.customer_replied, words["customer_replied"]
    ),
}


def _formatter(cell):
    """A cell as a Flask-Admin column formatter."""
    return lambda view, context, model, name: cell(model, _words(view))


def _actions(row: ListedRequest, offered: frozenset[str], words: dict, page: dict) -> str:
    """A row's actions (its ``ROW_ACTIONS_CELL``): the likeliest (``workflow.likely_next_step``) as its button, the
    others in its "⋯" menu, named with the request's number. ``page`` holds what every row
    of the page shares, escaped: the labels, the request page's address, the CSRF token and
    the list to come back to (``next``)."""
    shown = [name for name in ROW_ACTIONS if name in offered]
    if not shown:
        return ""
    number = escape(row.number)
    labels = page["labels"]

    def control(name: str) -> str:
        if name == "cancel":
            href = f"{page['prefix']}{row.id}{words['list_suffix']}"
            return ROW_CANCEL.format(href=href, label=labels[name], number=number)
        css = ROW_ACTIONS[name]
        return ROW_BUTTON.format(action=name, css=css, label=labels[name], number=number)

    primary = workflow.likely_next_step(row, shown)
    html = control(primary) if primary else ""
    rest = [name for name in shown if name != primary]
    if rest:
        html += ROW_MENU.format(
            title=words["more"],
            name=escape(words["more_of"] % {"number": row.number}),
            items="".join(control(name) for name in rest),
        )
    if any(name != "cancel" for name in shown):  # a button posts
        html = ROW_FORM.format(
            prefix=page["prefix"], id=row.id, csrf=page["csrf"], next=page["next"], actions=html
        )
    return html


@cache
def page_labels(locale: str, formal: bool) -> dict[str, Any]:
    """The request page's words for resolutions, actions and an open line, in ``locale``
    (the current one, formal or not): the catalogs never change while the app runs, so each
    language's are translated once."""
    words = list_labels(locale, formal)
    return {
        "resolution_labels": words["resolutions"],
        "action_labels": words["actions"],
        "open_label": str(LINE_DECISION_LABELS["open"]),
    }


class RequestView(KeyedFilterMenu, ShopScopedView):
    """The "Requests" (Aanvragen) list. Statuses change only through workflow.py."""

    change_role = "agent"  # the list's actions are review steps; workflow.py checks each
    list_template = "admin/requests/list.html"
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    can_set_page_size = True
    column_list = (
        "number",
        "created_at",
        "customer_name",
        "order_number",
        "item_count",
        "total_cents",
        "resolution",
        "status",
        "held_by",
        "notice_count",
        "free_shipping",
        "last_inbound_at",
    )
    column_sortable_list = ("number", "created_at", "customer_name", "total_cents", "status")
    column_searchable_list = ("number", "order_number", "customer_email", "customer_name")
    # Newest first, id as tie-breaker: walks an index, so deep pages need no sort.
    column_default_sort = [("created_at", True), ("id", True)]
    column_labels = {
        "number": _l("Number"),
        "created_at": _l("Date"),
        "customer_name": _l("Customer"),
        "order_number": _l("Order"),
        "customer_email": _l("Email"),
        "item_count": _l("Items"),
        "total_cents": _l("Value"),
        "resolution": _l("Resolution"),
        "status": _l("Status"),
        "held_by": _l("Held by"),
        "notice_count": _l("Notices"),
        "free_shipping": _l("Free shipping"),
        "last_inbound_at": _l("Customer replied"),
    }
    column_formatters = {name: _formatter(cell) for name, cell in CELLS.items()}
    column_filters = (
        StatusFilter(_l("Status")),
        RequestShopFilter(_l("Shop"), ReturnRequest.shop_id),
        ResolutionFilter(_l("Resolution")),
        ReasonFilter(_l("Reason")),
        CreatedFilter(ReturnRequest.created_at, _l("Date")),
        HasNoticesFilter(_l("Has notices")),
        HeldByMeFilter(_l("Held by me")),
        AwaitingCustomerFilter(_l("Awaiting customer")),
        CustomerRepliedFilter(_l("Customer replied")),
    )

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                joinedload(ReturnRequest.held_by),
                joinedload(ReturnRequest.stage),
                joinedload(ReturnRequest.shop),
                selectinload(ReturnRequest.notices),
            )
        )

    def get_count_query(self):
        """The list's count, capped, and beside it (in the same statement) the concept count
        (``concept_count``); a search is counted by its page's own query (``get_list``)."""
        if request.args.get("search") or g.get("list_without_count"):
            return None
        counted = self.scope(CappedCountQuery(ReturnRequest.id, session=db.session))
        counted.first_row = g.get("list_first_row", 0)
        counted.beside = {"concept": self.concept_query()}
        return counted

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """A searched page counts every match in its own query (``count(*) OVER ()``), so
        the trigram indexes are read once, not once for the count and once for the page."""
        g.list_first_row = (page or 0) * (page_size or self.page_size)
        count, query = super().get_list(
            page, sort_column, sort_desc, search, filters, False, page_size
        )
        if not execute:
            return count, query
        if count is not None:
            return count, self.rows_of_page(query, deep=bool(page))
        rows = request_list.listed_query(query, func.count().over()).all()
        if rows:
            return rows[0][request_list.COLUMNS], request_list.listed_rows(rows)
        return query.limit(None).offset(None).order_by(None).count(), []

    def rows_of_page(self, query, deep: bool) -> list[ListedRequest]:
        """The page's rows, as plain data (``request_list``). A deep page finds its ids on an
        index alone, then loads only those rows: an OFFSET over whole rows reads every row it
        skips from the table (page 200: 10,000 of them)."""
        if not deep:
            return request_list.listed(query)
        ids = [request_id for (request_id,) in query.with_entities(ReturnRequest.id)]
        if not ids:
            return []
        found = request_list.listed(self.get_query().filter(among_ids(ReturnRequest.id, ids)))
        rows = {row.id: row for row in found}
        return [rows[request_id] for request_id in ids if request_id in rows]

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Search with ``search_condition`` instead of ILIKE '%term%' over every column."""
        condition = search_condition(search)
        if count_query is not None:
            count_query = count_query.filter(condition)
        g.request_search = True
        return query.filter(condition), count_query, joins, count_joins

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        """Search results sorted after the search's indexes found them.

        Sorting by plain ``created_at`` lets PostgreSQL walk that index hoping to meet 50
        matches soon; for a rare name it walks the whole table. The expression is the
        same order, but no index serves it, so the (few) matches are found first.
        """
        if sort_column is None and g.get("request_search"):
            newest = func.coalesce(ReturnRequest.created_at, ReturnRequest.created_at)
            return query.order_by(newest.desc(), ReturnRequest.id.desc()), joins
        return super()._apply_sorting(query, joins, sort_column, sort_desc)

    def may_edit(self) -> bool:
        return False

    def search_placeholder(self) -> str:
        """What the search box finds (``search_condition``), said in words."""
        return _("Search by name, email, order or request number")

    def render(self, template: str, **kwargs):
        """The list's rows (``row_html``) are written here, each cell formatted once."""
        if template == self.list_template:
            kwargs["row_html"] = self.row_html(kwargs.get("data") or [])
            kwargs["concept_count"] = self.concept_count()
        return super().render(template, **kwargs)

    def row_html(self, rows: list[ListedRequest]) -> dict[int, Markup]:
        """Each row's cells by id: its tick box, its actions (what ``workflow.allowed_actions``
        offers, with the facts of the whole page looked up at once: ``_actions_cell``) and its
        columns.

        Written here rather than in the template, with every value escaped and put in place by
        ``str.format``: a Jinja block or macro per row, a lookup per cell and ``Markup.format``
        cost more than the SQL of the page (see docs/PERFORMANCE.md).
        """
        words, page = self.row_words(back=request.full_path)
        actions = self.actions_cells(rows, words, page)
        cells = [CELLS[name] for name, _label in self._list_columns]
        # The cells after the tick box, with a place for each value: one ``format`` a row.
        rest = "\n".join(
            [
                ROW_ACTIONS_CELL,
                *(ROW_CELL.format(name, "{}") for name, _label in self._list_columns),
            ]
        )
        html = {}
        for row in rows:
            tick = ROW_TICK.format(row.id, escape(words["select"] % {"number": row.number}))
            values = [escape(cell(row, words)) for cell in cells]
            # Every value is escaped.
            html[row.id] = Markup(tick + "\n" + rest.format(actions[row.id], *values))  # noqa: S704
        return html

    def row_words(self, back: str) -> tuple[dict, dict]:
        """The list's words (``_words``) and what every row's actions share, escaped: their
        labels, the request page's address, the CSRF token and the list to come back to."""
        words = _words(self)
        page = {
            "labels": {name: escape(words["actions"][name]) for name in ROW_ACTIONS},
            "prefix": escape(words["page_prefix"]),
            "csrf": escape(generate_csrf()),
            "next": escape(back),
        }
        return words, page

    @staticmethod
    def actions_cells(rows: list[ListedRequest], words: dict, page: dict) -> dict[int, str]:
        """Each row's actions by id (``_actions``): what ``workflow.allowed_actions`` offers
        the user now, with the facts of all the rows looked up at once."""
        user = current_user._get_current_object()
        facts = workflow.request_facts([row.id for row in rows])
        return {
            row.id: _actions(
                row, workflow.allowed_actions(row, user, facts[row.id], ROW_ACTIONS), words, page
            )
            for row in rows
        }

    @expose("/")
    def index_view(self):
        """The list; without any filter it opens on the open requests."""
        if not any(arg.startswith("flt") for arg in request.args) and "all" not in request.args:
            return redirect(url_for(".index_view", flt0_status="open", **request.args))
        self._template_args["poll_since"] = utcnow().isoformat()
        return super().index_view()

    def concept_query(self):
        """The requests in concept the user may approve in one go ("first set all to concept,
        then approve all in concept")."""
        query = self.changeable(CappedCountQuery(ReturnRequest.id, session=db.session))
        return query.filter(ReturnRequest.status == CONCEPT)

    def concept_count(self) -> int:
        """How many ``concept_query`` finds, capped as the list's count is (the bulk
        confirmation counts them exactly): counted beside the list's count when it was."""
        counted = g.get("counts_beside", {})
        if "concept" in counted:
            return counted["concept"]
        return self.concept_query().scalar() or 0

    # Bulk actions: Flask-Admin's ticked rows go to a confirmation page stating the count,
    # which runs the action through workflow.bulk_apply (a job for a large selection).

    @action("concept", BULK_ACTIONS["concept"])
    def action_concept(self, ids: list[str]):
        return self.confirm_bulk("concept", ids)

    @action("approve", BULK_ACTIONS["approve"])
    def action_approve(self, ids: list[str]):
        return self.confirm_bulk("approve", ids)

    @action("cancel", BULK_ACTIONS["cancel"])
    def action_cancel(self, ids: list[str]):
        return self.confirm_bulk("cancel", ids)

    @action("hold", BULK_ACTIONS["hold"])
    def action_hold(self, ids: list[str]):
        return self.confirm_bulk("hold", ids)

    @action("release", BULK_ACTIONS["release"])
    def action_release(self, ids: list[str]):
        return self.confirm_bulk("release", ids)

    @action("free_shipping_on", BULK_ACTIONS["free_shipping_on"])
    def action_free_shipping_on(self, ids: list[str]):
        return self.confirm_bulk("free_shipping_on", ids)

    @action("free_shipping_off", BULK_ACTIONS["free_shipping_off"])
    def action_free_shipping_off(self, ids: list[str]):
        return self.confirm_bulk("free_shipping_off", ids)

    @action("stage", BULK_ACTIONS["stage"])
    def action_stage(self, ids: list[str]):
        return self.confirm_bulk("stage", ids)

    def confirm_bulk(self, name: str, ids: list[str]):
        """The confirmation page for ``name`` on the ticked rows (those the user may change:
        ``ShopScopedView.init_actions``), with the list's filters to return to."""
        list_args = dict(parse_qsl(urlsplit(request.form.get("url", "")).query))
        return redirect(
            url_for(".bulk", ids=",".join(ids), action=name, **self.list_args_from(list_args))
        )

    def matching_ids(self) -> list[int]:
        """Every request matching the list's current filters and search, across all pages."""
        query = exports.filtered_query(self).order_by(None)
        return [row.id for row in query.with_entities(ReturnRequest.id).order_by(ReturnRequest.id)]

    @expose("/export/<fmt>")
    def export(self, fmt: str):
        """The list as filtered, searched and sorted now, as CSV or Excel, streamed."""
        if not any(arg.startswith("flt") for arg in request.args) and "all" not in request.args:
            return redirect(url_for(".export", fmt=fmt, flt0_status="open", **request.args))
        columns = exports.request_columns(self, language())
        rows = exports.request_rows(exports.filtered_query(self))
        return exports.export_response(fmt, columns, rows, _("requests"))

    def selected_ids(self) -> list[int]:
        """The ticked rows (``ids``), or with ``scope=filter`` every request the filter matches."""
        if request.args.get("scope") == "filter":
            return self.matching_ids()
        return parse_ids(request.args.get("ids", ""))

    @expose("/bulk", methods=("GET", "POST"))
    def bulk(self):
        """Confirm a bulk action (the count is stated), then run it inline or as a job.

        The selection and the list's filters travel in the query string, so the POST
        recomputes exactly what the confirmation page counted.
        """
        ids = self.selected_ids()
        chosen = request.values.get("action", "")
        if request.method == "POST":
            if chosen not in BULK_ACTIONS or not ids:
                flash(_("Choose an action."), "danger")
            elif chosen == "cancel" and not request.form.get("reason", "").strip():
                flash(_("Type the reason for the customer."), "danger")
            elif chosen == "stage" and self.chosen_bulk_stage() is None:
                flash(_("Choose a review stage."), "danger")
            else:
                return self.run_bulk(chosen, ids, request.form.get("reason"))
        return self.render(
            "admin/requests/bulk.html",
            count=len(ids),
            chosen=chosen,
            actions=BULK_ACTIONS,
            stages=stage_choices(visible_stages(), language()),
            query_args={k: v for k, v in request.args.items() if k != "action"},
            back=url_for(".index_view", **self.list_args_from(request.args)),
        )

    @staticmethod
    def chosen_bulk_stage() -> ReviewStage | None:
        stage_id = parse_int(request.form.get("stage_id"))
        stage = db.session.get(ReviewStage, stage_id) if stage_id is not None else None
        return stage if stage in visible_stages() else None

    def run_bulk(self, chosen: str, ids: list[int], reason: str | None):
        back = url_for(".index_view", **self.list_args_from(request.args))
        stage = self.chosen_bulk_stage() if chosen == "stage" else None
        if len(ids) > workflow.BULK_INLINE_LIMIT:
            job = BulkJob(
                actor=current_user,
                action=chosen,
                reason=reason,
                stage_id=stage.id if stage else None,
                request_ids=ids,
                total=len(ids),
            )
            db.session.add(job)
            db.session.commit()
            bulk_jobs.start_bulk_job(job)
            return redirect(url_for(".bulk_job", job_id=job.id, back=back))
        outcome = workflow.bulk_apply(chosen, ids, current_user, reason, stage)
        db.session.commit()
        flash(outcome.summary(), "success" if outcome.done else "warning")
        return redirect(back)

    @staticmethod
    def list_args_from(values) -> dict:
        """The list's own arguments among ``values``: its filters and ``LIST_KEYS``."""
        return {k: v for k, v in values.items() if k.startswith("flt") or k in LIST_KEYS}

    # The list a request page was opened from: previous, next, and "Approve and next".

    def came_from(self) -> dict[str, str]:
        """The list's arguments (filters, search, order): the list's own on the list, else
        those carried as ``list`` (a query string; a form field on a POST). Only the list's
        keys are kept and they only ever become ``url_for(".index_view", …)``, so a crafted
        ``list`` cannot lead off this site. Without filters it is the list's default."""
        if request.endpoint == f"{self.endpoint}.index_view":
            values: Mapping[str, str] = request.args
        else:
            values = dict(parse_qsl(request.values.get("list", "")))
        args = self.list_args_from(values)
        if not any(k.startswith("flt") for k in args) and "all" not in args:
            return dict(DEFAULT_LIST)
        return args

    @contextmanager
    def reading_list_args(self, args: Mapping[str, str]) -> Iterator[None]:
        """Flask-Admin reads a list's filters, search and order from ``request.args``; inside
        this block it reads ``args``, so the request page asks the list's very own query
        (and the search's note for ``_apply_sorting`` stays inside it too)."""
        saved, searched = request.args, g.pop("request_search", None)
        request.args = ImmutableMultiDict(args)
        try:
            yield
        finally:
            request.args = saved
            g.pop("request_search", None)
            if searched is not None:
                g.request_search = searched

    def neighbours(self, request_id: int, args: Mapping[str, str]) -> tuple[int | None, int | None]:
        """The requests before and after ``request_id`` in the list ``args`` describe (the
        list's query: tenancy, filters, search, order); none when it is not in that list."""
        with self.reading_list_args(args):
            g.list_without_count = True
            try:
                query = exports.filtered_query(self)
            finally:
                g.pop("list_without_count")
        in_list = query.filter(ReturnRequest.id == request_id).exists()
        if "sort" not in args:
            return self.neighbours_by_date(query, in_list, request_id, bool(args.get("search")))
        if not db.session.query(in_list).scalar():
            return None, None
        return self.neighbours_by_scan(query, request_id)

    @staticmethod
    def neighbours_by_date(
        query, in_list, request_id: int, searched: bool
    ) -> tuple[int | None, int | None]:
        """In the list's own order (newest first, the id breaking ties): the nearest newer and
        the nearest older request, each found by where this one sits; asked in one statement
        with whether it is in the list at all (``in_list``)."""
        current = db.session.get(ReturnRequest, request_id)
        here = tuple_(ReturnRequest.created_at, ReturnRequest.id)
        key = tuple_(literal(current.created_at), literal(current.id))
        # A search is ordered as on its list (``_apply_sorting``), found through its indexes
        # first; anything else walks the date index from this request on.
        created = ReturnRequest.created_at
        newest = func.coalesce(created, created) if searched else created
        ids = query.order_by(None).with_entities(ReturnRequest.id)
        previous = ids.filter(here > key).order_by(newest.asc(), ReturnRequest.id.asc())
        following = ids.filter(here < key).order_by(newest.desc(), ReturnRequest.id.desc())
        found, before, after = db.session.execute(
            select(
                in_list,
                previous.limit(1).scalar_subquery(),
                following.limit(1).scalar_subquery(),
            )
        ).one()
        return (before, after) if found else (None, None)

    @staticmethod
    def neighbours_by_scan(query, request_id: int) -> tuple[int | None, int | None]:
        """For a list sorted by a column: its ids in order until the request is met (at most
        ``PLACE_SCAN_LIMIT``)."""
        ids = query.with_entities(ReturnRequest.id).limit(PLACE_SCAN_LIMIT)
        previous, found = None, False
        for (row_id,) in db.session.execute(ids.statement):
            if found:
                return previous, row_id
            if row_id == request_id:
                found = True
            else:
                previous = row_id
        return (previous, None) if found else (None, None)

    @staticmethod
    def list_query(args: Mapping[str, str]) -> str | None:
        """``args`` as the ``list`` a request page carries; none for the default list."""
        return None if args == DEFAULT_LIST else urlencode(args)

    def page_url(self, request_id: int, args: Mapping[str, str], **kwargs) -> str:
        return url_for(".page", request_id=request_id, list=self.list_query(args), **kwargs)

    def list_place(self, request_id: int) -> ListPlace:
        args = self.came_from()
        previous, following = self.neighbours(request_id, args)
        return ListPlace(
            query=self.list_query(args) or "",
            list_url=url_for(".index_view", **args),
            previous_url=self.page_url(previous, args) if previous else None,
            next_url=self.page_url(following, args) if following else None,
        )

    @expose("/bulk/<int:job_id>")
    def bulk_job(self, job_id: int):
        """Progress of a bulk job; refreshes itself (and works without JavaScript)."""
        job = db.session.get(BulkJob, job_id)
        if job is None or (job.actor_id != current_user.id and not current_user.is_support):
            abort(404)
        outcome = workflow.BulkOutcome(
            job.action, job.outcome.get("done", 0), job.outcome.get("skipped", {})
        )
        return self.render(
            "admin/requests/bulk_job.html",
            job=JobProgress.of(job),
            outcome=outcome,
            back=safe_next(request.args.get("back"), url_for(".index_view")),
        )

    # Live updates: an open list asks every few seconds which rows colleagues changed.

    @expose("/changes")
    def changes(self):
        """JSON of the listed rows changed since ``since``: their cells, and their actions as
        the user may take them now (``actions``), rendered as in the list (``list`` is the
        list's query, which the actions come back to)."""
        ids = parse_ids(request.args.get("ids", ""))[:200]
        since = _parse_time(request.args.get("since"))
        now = utcnow()
        query = self.get_query().filter(ReturnRequest.id.in_(ids))
        if since is not None:
            query = query.filter(ReturnRequest.updated_at >= since)
        changed = request_list.listed(query)
        back = f"{url_for('.index_view')}?{request.args.get('list', '')}"
        actions = self.actions_cells(changed, *self.row_words(back=back))
        rows = {
            str(row.id): {
                **{
                    name: str(self.get_list_value(None, row, name))
                    for name, _label in self._list_columns
                },
                "actions": actions[row.id],
            }
            for row in changed
        }
        return jsonify(since=now.isoformat(), rows=rows)

    # The request page.

    def load_request(self, request_id: int) -> ReturnRequest:
        req = (
            self.get_query()
            .filter(ReturnRequest.id == request_id)
            .options(
                # The lines with their order line and reason in one query.
                selectinload(ReturnRequest.lines).joinedload(ReturnRequestLine.order_line),
                selectinload(ReturnRequest.lines).joinedload(ReturnRequestLine.reason),
                selectinload(ReturnRequest.lines).selectinload(ReturnRequestLine.photos),
                selectinload(ReturnRequest.notices),
                selectinload(ReturnRequest.messages).selectinload(Message.attachments),
                joinedload(ReturnRequest.order),
            )
            .one_or_none()
        )
        if req is None:
            abort(404)
        return req

    @expose("/<int:request_id>")
    def page(self, request_id: int):
        """The request page, rendered from plain data (``services.request_page``)."""
        # Opening the request reads what the bell said of it (only the user's own entries).
        read, unread = notifications.read_request_and_count(db.session, current_user, request_id)
        if read:
            db.session.commit()
        bell_counted(unread)
        req = request_page.load(self.scope(db.session.query(ReturnRequest)), request_id)
        if req is None:
            abort(404)
        user = current_user._get_current_object()
        refunds = request_page.refunds_of(req)
        page = request_page.build(req, refunds, user)
        return self.render(
            "admin/requests/page.html",
            req=page,
            # The partials shared with other pages read these by name.
            actions=page.actions,
            settlement=page.settlement,
            timeline=page.timeline,
            place=self.list_place(req.id),
            held_by_other=req.held_by_id is not None and req.held_by_id != user.id,
            payout=payout_panel(kept_payout_of(req, refunds)),
            **page_labels(str(get_locale()), is_formal()),
        )

    @expose("/<int:request_id>/act", methods=("POST",))
    def act(self, request_id: int):
        """Every button of the request page and the list's rows posts here, named as in
        ``workflow.allowed_actions``; the workflow refuses what that answer did not offer.

        "… and next" (``then=next``) lands on the request after this one in the list the
        page came from; it is found before the decision, which may take this one off it."""
        req = self.load_request(request_id)
        chosen = request.form.get("action", "")
        seen = parse_int(request.form.get("version"))
        if chosen in PAYOUT_ACTIONS:
            act_on_refund(
                kept_payout_of(req), chosen, current_user._get_current_object(), req.number
            )
            return redirect(
                safe_next(request.form.get("next"), url_for(".page", request_id=request_id))
            )
        payout = None
        args = self.came_from()
        then_next = request.form.get("then") == "next"
        following = self.neighbours(req.id, args)[1] if then_next else None
        try:
            if seen is not None and chosen in ("approve", "approve_keep", "cancel"):
                workflow.check_seen_version(req, seen)
            if chosen == "settle":
                payout = refund_jobs.settle_kept(
                    req, current_user._get_current_object(), request.form.get("kind", "")
                )
                message = _("%(number)s: done.", number=req.number)
            else:
                message = self.perform(req, chosen)
            db.session.commit()
            refund_jobs.send_after_commit(payout)
            flash(message, "success")
        except workflow.TransitionRefused as refused:
            db.session.rollback()
            flash(str(refused), "danger")
        else:
            if then_next and following is not None:
                return redirect(self.page_url(following, args))
            if then_next:
                flash(_("That was the last request of the list."), "info")
                return redirect(url_for(".index_view", **args))
        return redirect(safe_next(request.form.get("next"), self.page_url(request_id, args)))

    def perform(self, req: ReturnRequest, chosen: str) -> str:
        form = request.form
        user = current_user._get_current_object()
        operations = {
            "hold": lambda: workflow.hold(req, user),
            "release": lambda: workflow.release(req, user),
            "take_over": lambda: workflow.take_over(req, user),
            "concept": lambda: workflow.set_concept(req, user),
            "back_to_new": lambda: workflow.set_new(req, user),
            "approve": lambda: workflow.approve(req, user),
            "approve_keep": lambda: workflow.approve(req, user, keep_items=True),
            "cancel": lambda: workflow.cancel(req, user, form.get("reason", "")),
            "reopen": lambda: workflow.reopen(req, user),
            "label_again": lambda: workflow.allow_new_label(req, user),
            "new_ship_by": lambda: workflow.give_new_ship_by(req, user),
            "free_shipping_on": lambda: workflow.set_free_shipping(req, user, True),
            "free_shipping_off": lambda: workflow.set_free_shipping(req, user, False),
            "renew_link": lambda: workflow.revoke_public_token(req, user),
            "stage": lambda: workflow.set_stage(
                req, user, self.chosen_stage(req, form.get("stage_id"))
            ),
            "decide_line": lambda: workflow.decide_line(
                req,
                user,
                self.chosen_line(req, form.get("line_id")),
                form.get("decision") == "approved",
                form.get("reason"),
            ),
        }
        if chosen not in operations:
            abort(400)
        operations[chosen]()
        return _("%(number)s: done.", number=req.number)

    @expose("/<int:request_id>/photo/<int:attachment_id>")
    def photo(self, request_id: int, attachment_id: int):
        """A photo of one of this request's lines, for staff of the request's shop only."""
        req = self.load_request(request_id)
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or attachment.request_id != req.id:
            abort(404)
        return storage.send(attachment)

    @staticmethod
    def chosen_stage(req: ReturnRequest, stage_id: str | None) -> ReviewStage | None:
        if not stage_id:
            return None
        number = parse_int(stage_id)
        stage = db.session.get(ReviewStage, number) if number is not None else None
        if stage is None or stage.shop_id != req.shop_id:
            abort(400)
        return stage

    @staticmethod
    def chosen_line(req: ReturnRequest, line_id: str | None) -> ReturnRequestLine:
        line = next((line for line in req.lines if str(line.id) == line_id), None)
        if line is None:
            abort(400)
        return line

    # Communication with customer (conversation.py does the work).

    @expose("/<int:request_id>/message", methods=("POST",))
    def message(self, request_id: int):
        """Send a message to the customer or add an internal note; errors show by the form."""
        req = self.load_request(request_id)
        user = current_user._get_current_object()
        body = request.form.get("body", "")
        files = conversation.uploads_from(request.files.getlist("files"))
        internal = request.form.get("kind") == "internal"
        try:
            if internal:
                conversation.add_internal_note(req, user, body, files)
            else:
                conversation.send_message(req, user, body, files)
            db.session.commit()
        except conversation.MessageRefused as refused:
            db.session.rollback()
            g.thread_errors, g.thread_form = refused.errors, request.form
            return self.page(request_id), 400
        flash(_("Internal note added.") if internal else _("Message sent."), "success")
        return redirect(self.page_url(request_id, self.came_from(), _anchor="thread-heading"))

    @expose("/<int:request_id>/attachment/<int:attachment_id>")
    def attachment(self, request_id: int, attachment_id: int):
        """A file of this request's thread, for staff of the request's shop only."""
        found = conversation.staff_attachment(self.load_request(request_id), attachment_id)
        if found is None:
            abort(404)
        return storage.send(found, always_download=True)


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
