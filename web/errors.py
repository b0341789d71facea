"""The one app-wide handler of HTTP errors: the API answers with problem documents, a
customer's page in the shop's colours and language, and the staff's pages as Flask's own."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from web.api.http import problem_for
from web.portal.errors import customer_error_page


def answer_http_error(error: HTTPException):
    for answer in (problem_for, customer_error_page):
        page = answer(error)
        if page is not None:
            return page
    return error
