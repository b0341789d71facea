"""The baseline: ReturnDesk plus what generated CRUD gives out of the box.

A plain Flask-Admin ``ModelView(ReturnRequest)`` with default settings and the same four
searchable columns, mounted at ``/admin/baseline/``. Its only addition is the tenant filter
every multi-shop app needs (a user sees only their shops), so the agent's figures compare
like with like. Production code never imports this module: ``bench/run.py`` serves it as a
second WSGI app (``bench.baseline_app:create_baseline_app()``) over the same database.
"""

from __future__ import annotations

from flask import Flask
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user

from app import create_app
from domain import tenancy
from extensions import db
from models import ReturnRequest


class PlainRequestView(ModelView):
    column_searchable_list = ("number", "order_number", "customer_email", "customer_name")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def _scoped(self, query):
        shop_ids = tenancy.shops_for(current_user)
        return tenancy.in_shops(query, ReturnRequest.shop_id, shop_ids)

    def get_query(self):
        return self._scoped(super().get_query())

    def get_count_query(self):
        return self._scoped(super().get_count_query())


def create_baseline_app() -> Flask:
    app = create_app()
    admin = app.extensions["admin"][0]
    admin.add_view(PlainRequestView(ReturnRequest, db, endpoint="baseline", url="/admin/baseline"))
    return app
