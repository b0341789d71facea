"""The Requests list's page holds to a budget of statements however many filters it offers:
the options from the user's shops (names, review stages, return reasons) are one statement,
and only the user's shops' options are in it."""

from __future__ import annotations

import json
import re

from extensions import db
from factories import make_request, make_shop
from models import ReturnReason, ReviewStage
from query_counting import counted_queries


def filter_options(page: str) -> dict[str, list[str]]:
    """The options of each filter, by the filter's name, from the page's filter menu data."""
    groups = json.loads(
        re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
        .group(1)
        .strip()
        .replace("&#34;", '"')
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )
    return {name: [label for _key, label in (g[0]["options"] or [])] for name, g in groups.items()}


def test_the_list_reads_its_filters_shop_options_in_one_statement_and_only_its_shops(
    client, auth, shop, anna
):
    other = make_shop("other", "Andere Winkel")
    db.session.add_all(
        [
            ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos asked", position=1),
            ReviewStage(shop=other, name_nl="Elders", name_en="Elsewhere", position=1),
            ReturnReason(shop=shop, code="late", label_nl="Te laat", label_en="Too late"),
            ReturnReason(shop=other, code="alien", label_nl="Vreemd", label_en="Alien"),
        ]
    )
    for _ in range(3):
        make_request(shop, notice_count=1)
    db.session.commit()
    auth.login("anna@example.com")
    client.get("/admin/requests/")

    with counted_queries() as statements:
        page = client.get("/admin/requests/?flt0_status=open").get_data(as_text=True)

    options = filter_options(page)
    assert "Photos asked" in options["Status"] and "Elsewhere" not in options["Status"]
    assert "Too late" in options["Reason"] and "Alien" not in options["Reason"]
    assert options["Shop"] == [shop.name]
    # The user, the counts, the rows, their notices, the filters' shop options, the rows'
    # actions' facts and the bell.
    assert len(statements) <= 7, "\n\n".join(statements)
