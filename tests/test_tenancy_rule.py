"""The one tenancy rule (``domain/tenancy.py``): who may touch which shop, and nowhere else.

``tests/test_tenancy.py`` probes every route with staff of another shop; this file holds the
rule itself and checks that no other module decides it again.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from domain import tenancy
from extensions import db
from factories import make_request, make_shop, make_user
from models import ApiKey, Membership, ReturnRequest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_SOURCES = [
    path
    for folder in ("domain", "services", "web", "demo", "bench")
    for path in (ROOT / folder).rglob("*.py")
] + [ROOT / f"{name}.py" for name in ("app", "cli", "admin_views", "tasks", "models")]
# Deciding a role or treating "no list" as "every shop" is the rule itself.
RULE_WRITTEN_AGAIN = re.compile(r"ROLES\.index|shop_ids is None or|if shop_ids is not None")


def test_a_user_touches_the_shops_of_their_memberships_at_the_asked_role(app):
    north, south, west = make_shop("north"), make_shop("south"), make_shop("west")
    user = make_user("mixed@example.com", north, role="agent")
    user.memberships.append(Membership(shop=south, role="admin"))
    db.session.flush()

    assert sorted(tenancy.shops_for(user) or []) == sorted([north.id, south.id])
    assert tenancy.shops_for(user, "admin") == [south.id]
    assert tenancy.may_touch(user, north.id)
    assert not tenancy.may_touch(user, north.id, "admin")
    assert tenancy.is_admin_of(user, south.id)
    assert not tenancy.may_touch(user, west.id)
    assert tenancy.role_in(user, south.id) == "admin"
    assert tenancy.role_in(user, west.id) is None


def test_support_touches_every_shop_and_a_stranger_none(app):
    shop = make_shop("north")
    support = make_user("support@example.com", is_support=True)
    stranger = make_user("nobody@example.com")

    assert tenancy.shops_for(support, "admin") is None
    assert tenancy.is_admin_of(support, shop.id)
    assert tenancy.role_in(support, shop.id) == "support"
    assert tenancy.shops_for(stranger) == []
    assert not tenancy.may_touch(stranger, shop.id)


def test_an_api_key_touches_its_own_shop_only(app):
    north, south = make_shop("north"), make_shop("south")
    key = ApiKey(shop=north, name="webshop", prefix="rd_x", key_hash="0" * 64)
    db.session.add(key)
    db.session.flush()

    assert tenancy.shops_for(key) == [north.id]
    assert not tenancy.may_touch(key, south.id)


def test_a_scoped_query_keeps_the_rows_of_the_users_shops_only(app):
    north, south = make_shop("north"), make_shop("south")
    ours, theirs = make_request(north), make_request(south)
    agent = make_user("agent@example.com", north)
    support = make_user("support@example.com", is_support=True)

    def numbers(who) -> set[str]:
        query = select(ReturnRequest.number)
        query = tenancy.in_shops(query, ReturnRequest.shop_id, tenancy.shops_for(who))
        return set(db.session.scalars(query))

    assert numbers(agent) == {ours.number}
    assert numbers(support) == {ours.number, theirs.number}


def test_no_other_module_decides_the_rule_again():
    written_again = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in PROJECT_SOURCES
        if path.name != "tenancy.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if RULE_WRITTEN_AGAIN.search(line)
    ]
    assert written_again == []
