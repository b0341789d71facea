"""Hostile numbers in every admin URL and form answer 400 or 404, never a 500.

PostgreSQL refuses a number past its column's range with an error, SQLite's driver cannot send
one past 2**63, and ``int()`` chokes on "²", which ``str.isdigit()`` accepts. The probe walks
every admin route of the app (``app.url_map``, so routes added later are covered too) as
Flask-Admin fuzzing: each integer in a path, each query parameter a list, a row page or one
of our screens reads (and each filter of the view), and the id fields of the forms. It runs on
SQLite here and on PostgreSQL in CI (``DATABASE_URL``).
"""

from __future__ import annotations

import re
from itertools import product

import pytest
from werkzeug.routing import IntegerConverter

from tenancy_helpers import DEMO_ID
from web.int_args import MAX_INT

PAST_THE_COLUMNS = [str(MAX_INT + 1), str(2**63), str(2**64)]
HOSTILE = ["-5", "0", *PAST_THE_COLUMNS, "x", "1e9", "\x00", "²"]
# What refuses a bad value (a list's page, a row's id) goes alone, so it hides nothing else;
# "all" keeps the Requests list from redirecting to its default filter first.
REFUSING_PARAMETERS = ("page", "id")
OTHER_PARAMETERS = (
    "page_size", "sort", "desc", "search", "url", "ids", "since", "scope", "shop", "period",
    "days", "back", "action", "name", "query", "offset", "limit", "language",
)  # fmt: skip
FORM_ID_FIELDS = (
    "id", "rowid", "list_form_pk", "version", "stage_id", "shop_id", "line_id",
    "membership_id", "user_id", "request_id", "attachment_id",
)  # fmt: skip


def admin_rules(app) -> list:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin/") and not rule.endpoint.endswith(".static")
    ]


def int_arguments(rule) -> list[str]:
    return [n for n in rule.arguments if isinstance(rule._converters[n], IntegerConverter)]


def url_of(rule, **values) -> str:
    """The rule's path: the given values, an export format, else the demo rows' id."""
    url = rule.rule
    for name in rule.arguments:
        value = values.get(name, DEMO_ID if name in int_arguments(rule) else "csv")
        url = re.sub(rf"<(?:\w+(?:\([^)]*\))?:)?{name}>", str(value), url)
    return url


def filter_parameters(app, rule) -> list[str]:
    """``flt0_<key>`` for every filter of the view the rule belongs to."""
    for view in app.extensions["admin"][0]._views:
        if view.endpoint == rule.endpoint.split(".")[0]:
            return [f"flt0_{key}" for key in getattr(view, "_filter_args", None) or {}]
    return []


def query_probes(app, rule) -> list[dict]:
    """Per hostile value: the page and the row id (no page reads both), then every other
    parameter and filter of the view at once."""
    others = OTHER_PARAMETERS + tuple(filter_parameters(app, rule))
    probes = []
    for value in HOSTILE:
        probes.append(dict.fromkeys(REFUSING_PARAMETERS, value) | {"all": "1"})
        probes.append(dict.fromkeys(others, value))
    return probes


@pytest.fixture
def support_client(app, client, auth, tenants):
    """Platform support, logged in, with the ``tenants`` (two shops with a row in every
    table): every admin screen is in reach; crashes answer 500 as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert auth.login("support@example.com").status_code == 302
    return client


def test_numbers_past_the_id_columns_in_an_admin_path_are_not_found(app, support_client):
    problems = []
    for rule in admin_rules(app):
        for name in int_arguments(rule):
            for value in HOSTILE:
                url = url_of(rule, **{name: value})
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    status = support_client.open(url, method=method).status_code
                    if status >= 500 or (value in PAST_THE_COLUMNS and status != 404):
                        problems.append(f"{method} {url!r} answers {status}")
    assert not problems, "\n".join(problems)


def test_hostile_numbers_in_admin_query_strings_never_crash(app, support_client):
    problems = []
    for rule in admin_rules(app):
        if "GET" not in rule.methods:
            continue
        for query in query_probes(app, rule):
            status = support_client.get(url_of(rule), query_string=query).status_code
            if status >= 500:
                problems.append(f"GET {url_of(rule)} {query!r} answers {status}")
    assert not problems, "\n".join(problems)


def test_hostile_numbers_in_admin_forms_never_crash(app, support_client):
    problems = []
    for rule in admin_rules(app):
        if "POST" not in rule.methods:
            continue
        for value, action in product(HOSTILE, ("approve", "delete")):
            form = dict.fromkeys(FORM_ID_FIELDS, value) | {"action": action}
            status = support_client.post(url_of(rule), data=form).status_code
            if status >= 500:
                problems.append(f"POST {url_of(rule)} {action} {value!r} answers {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("value", [*PAST_THE_COLUMNS, "-5", "x"])
def test_list_page_out_of_range_is_a_bad_request(support_client, value):
    answer = support_client.get("/admin/requests/", query_string={"all": "1", "page": value})
    assert answer.status_code == 400
