"""Reasons and questions take their place in the customer's form by moving them up and down
in the list, not by typing an "Order" number; a new one goes last. Only those who may edit the
shop's form move its rows, with the form's CSRF token, and every move is audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from factories import make_question, make_reason, make_shop, make_user
from models import AuditEvent, ReturnReason

REASONS = "/admin/reasons/"


def reasons_in_order(shop) -> list[str]:
    db.session.expire_all()
    reasons = db.session.scalars(
        select(ReturnReason).where(ReturnReason.shop_id == shop.id).order_by(ReturnReason.position)
    )
    return [reason.code for reason in reasons]


def three_reasons(shop) -> dict[str, ReturnReason]:
    made = {
        code: make_reason(shop, code, label_nl=nl, label_en=en, position=place)
        for place, (code, nl, en) in enumerate(
            [
                ("too_small", "Te klein", "Too small"),
                ("too_big", "Te groot", "Too big"),
                ("damaged", "Beschadigd", "Damaged"),
            ],
            start=1,
        )
    }
    db.session.commit()
    return made


def move(client, reason: ReturnReason, direction: str, **data):
    return client.post(f"{REASONS}move/{reason.id}/{direction}", data=data)


def test_support_moves_a_reason_up_and_down_and_the_list_follows(client, auth, shop_staff):
    reasons = three_reasons(shop_staff.shop)
    auth.login(shop_staff.support.email)

    answer = move(client, reasons["damaged"], "up", url=REASONS)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(REASONS)
    assert reasons_in_order(shop_staff.shop) == ["too_small", "damaged", "too_big"]
    move(client, reasons["too_small"], "down")
    assert reasons_in_order(shop_staff.shop) == ["damaged", "too_small", "too_big"]
    move(client, reasons["damaged"], "up")  # already first: nothing moves
    assert reasons_in_order(shop_staff.shop) == ["damaged", "too_small", "too_big"]

    page = client.get(REASONS + "?lang=en").get_data(as_text=True)
    listed = re.findall(r">(Damaged|Too small|Too big)<", page)
    assert listed[:3] == ["Damaged", "Too small", "Too big"]
    assert 'aria-label="Move up: Too small"' in page
    assert 'aria-label="Move down: Too big"' in page
    notes = db.session.scalars(
        select(AuditEvent.note).where(AuditEvent.action == "reason_moved")
    ).all()
    assert len(notes) == 2


def test_the_form_asks_no_order_number_and_a_new_reason_goes_last(client, auth, shop_staff):
    three_reasons(shop_staff.shop)
    auth.login(shop_staff.support.email)
    form = client.get(REASONS + "new/").get_data(as_text=True)
    assert 'name="position"' not in form

    client.post(
        REASONS + "new/",
        data={
            "shop": str(shop_staff.shop.id),
            "code": "wrong_item",
            "label_nl": "Verkeerd",
            "label_en": "Wrong item",
            "active": "y",
        },
    )

    assert reasons_in_order(shop_staff.shop)[-1] == "wrong_item"


def test_questions_move_too(client, auth, shop_staff):
    first = make_question(shop_staff.shop, "text", label_nl="Eerste", label_en="First")
    second = make_question(shop_staff.shop, "text", label_nl="Tweede", label_en="Second")
    first.position, second.position = 1, 2
    db.session.commit()
    auth.login(shop_staff.support.email)

    client.post(f"/admin/questions/move/{second.id}/up")

    db.session.expire_all()
    assert (second.position, first.position) == (1, 2)


def test_an_admin_without_the_grant_moves_nothing(client, auth, shop_staff):
    reasons = three_reasons(shop_staff.shop)
    auth.login(shop_staff.admin.email)

    assert move(client, reasons["damaged"], "up").status_code == 403
    assert "Move up" not in client.get(REASONS).get_data(as_text=True)
    assert reasons_in_order(shop_staff.shop) == ["too_small", "too_big", "damaged"]


def test_another_shops_reason_is_not_found(client, auth, shop_staff):
    reasons = three_reasons(shop_staff.shop)
    fashion = make_shop("fashion", "Mode Huis", admins_edit_form=True)
    make_user("admin@fashion.example.com", fashion, role="admin")
    db.session.commit()
    auth.login("admin@fashion.example.com")

    assert move(client, reasons["damaged"], "up").status_code == 404
    assert reasons_in_order(shop_staff.shop) == ["too_small", "too_big", "damaged"]


def test_a_move_needs_the_forms_csrf_token(app, client, auth, shop_staff):
    reasons = three_reasons(shop_staff.shop)
    auth.login(shop_staff.support.email)
    app.config["WTF_CSRF_ENABLED"] = True

    assert move(client, reasons["damaged"], "up").status_code == 400
    assert reasons_in_order(shop_staff.shop) == ["too_small", "too_big", "damaged"]
