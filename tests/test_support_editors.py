"""Support's editors: return form, notice rules, manual notices and email templates."""

from pathlib import Path

import pytest
from sqlalchemy import select

from domain import notices, workflow
from extensions import db
from factories import make_order, make_reason, make_request, make_shop, make_user
from models import AuditEvent, EmailTemplate, FormQuestion, Message, NoticeRule, ReturnReason
from web.admin import email_templates


def rule_form(**fields):
    data = {
        "name": "Order value above 250",
        "shop_id": "",
        "severity": "warning",
        "message_nl": "Hoge orderwaarde: controleer de retour.",
        "message_en": "High order value: check the return.",
        "action": "",
        "action_stage_id": "",
        "active": "y",
    }
    data.update(fields)
    return data


def audit_actions():
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_support_adds_rule_through_the_form_and_next_matching_submission_carries_it(
    client, auth, shop, support
):
    db.session.commit()
    auth.login(support.email)
    page = client.get("/admin/rules/new/")
    assert b"Order value above" in page.data and b"Dry run" in page.data

    response = client.post(
        "/admin/rules/new/",
        data=rule_form(
            shop_id=str(shop.id), cond_order_value_above="y", cond_order_value_above__amount="250"
        ),
    )

    assert response.status_code == 302
    rule = db.session.scalar(select(NoticeRule))
    assert rule.conditions == [{"kind": "order_value_above", "amount": 25000}]
    assert rule.shop_id == shop.id
    assert "rule_created" in audit_actions()
    cheap = make_request(shop, order=make_order(shop, lines=1))
    dear = make_request(shop, order=make_order(shop, lines=3))
    workflow.run_notice_rules(cheap, "submitted")
    workflow.run_notice_rules(dear, "submitted")
    db.session.commit()
    assert cheap.notices == []
    [notice] = dear.notices
    assert notice.text("en") == "High order value: check the return."
    assert notice.severity == "warning"


def test_rule_form_needs_a_condition_and_its_parameters(client, auth, shop, support):
    db.session.commit()
    auth.login(support.email)
    client.post("/admin/rules/new/", data=rule_form(shop_id=str(shop.id)))
    client.post(
        "/admin/rules/new/", data=rule_form(shop_id=str(shop.id), cond_order_value_above="y")
    )
    assert db.session.scalar(select(NoticeRule)) is None


def test_editing_a_rule_shows_its_conditions_and_saves_changes(client, auth, shop, support):
    rule = NoticeRule(
        shop_id=shop.id,
        name="Kapot",
        conditions=[{"kind": "comment_contains", "words": ["kapot", "stuk"]}],
        message_nl="Kapot",
        message_en="Broken",
    )
    db.session.add(rule)
    db.session.commit()
    auth.login(support.email)
    page = client.get(f"/admin/rules/edit/?id={rule.id}")
    assert b'value="kapot, stuk"' in page.data

    client.post(
        f"/admin/rules/edit/?id={rule.id}",
        data=rule_form(
            name="Kapot",
            shop_id=str(shop.id),
            cond_comment_contains="y",
            cond_comment_contains__words="kapot",
            cond_more_items_than="y",
            cond_more_items_than__count="3",
        ),
    )

    db.session.refresh(rule)
    assert rule.conditions == [
        {"kind": "more_items_than", "count": 3},
        {"kind": "comment_contains", "words": ["kapot"]},
    ]
    assert "rule_changed" in audit_actions()


def test_dry_run_button_shows_matching_requests_and_saves_nothing(client, auth, shop, support):
    cheap = make_request(shop, order=make_order(shop, lines=1))
    dear = make_request(shop, order=make_order(shop, lines=3))
    db.session.commit()
    auth.login(support.email)

    page = client.post(
        "/admin/rules/new/",
        data=rule_form(
            shop_id=str(shop.id),
            cond_order_value_above="y",
            cond_order_value_above__amount="250",
            dry_run="1",
        ),
    )

    assert page.status_code == 200
    assert b"1 of the last 100 requests would get this notice" in page.data
    assert dear.number.encode() in page.data
    assert cheap.number.encode() not in page.data
    assert db.session.scalar(select(NoticeRule)) is None
    assert dear.notices == []


def test_shop_admin_reads_the_form_but_cannot_change_it_until_granted(client, auth, shop):
    admin = make_user("admin@demo.example", shop, role="admin")
    make_reason(shop, "too_small")
    db.session.commit()
    auth.login(admin.email)
    assert b"too_small" in client.get("/admin/reasons/").data

    new_reason = {
        "shop": str(shop.id),
        "code": "damaged",
        "label_nl": "Beschadigd",
        "label_en": "Damaged",
        "position": "1",
        "active": "y",
    }
    client.post("/admin/reasons/new/", data=new_reason)
    assert db.session.scalar(select(ReturnReason).where(ReturnReason.code == "damaged")) is None

    shop.admins_edit_form = True
    db.session.commit()
    response = client.post("/admin/reasons/new/", data=new_reason)
    assert response.status_code == 302
    assert db.session.scalar(select(ReturnReason).where(ReturnReason.code == "damaged"))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reason_created"))
    assert event.actor_id == admin.id and event.shop_id == shop.id


def test_read_only_admin_cannot_save_an_edit(client, auth, shop):
    admin = make_user("admin@demo.example", shop, role="admin")
    reason = make_reason(shop, "too_small")
    db.session.commit()
    auth.login(admin.email)
    client.post(
        f"/admin/reasons/edit/?id={reason.id}",
        data={"shop": str(shop.id), "code": "hacked", "label_nl": "x", "label_en": "x"},
    )
    db.session.refresh(reason)
    assert reason.code == "too_small"


@pytest.mark.parametrize(
    "path", ["/admin/reasons/", "/admin/questions/", "/admin/rules/", "/admin/email_templates/"]
)
def test_agents_have_no_access_to_the_editors(client, auth, shop, path):
    make_user("agent@demo.example", shop, role="agent")
    db.session.commit()
    auth.login("agent@demo.example")
    assert client.get(path).status_code == 403
    assert client.get("/admin/manual-notice/").status_code == 403


def test_fashion_staff_cannot_see_demo_rules(client, auth, shop):
    fashion = make_shop("fashion", "Fashion")
    make_user("admin@fashion.example", fashion, role="admin")
    demo_rule = NoticeRule(
        shop_id=shop.id, name="Demo secret rule", conditions=[], message_nl="x", message_en="x"
    )
    db.session.add(demo_rule)
    db.session.commit()
    auth.login("admin@fashion.example")
    assert b"Demo secret rule" not in client.get("/admin/rules/").data
    assert client.get(f"/admin/rules/details/?id={demo_rule.id}").status_code == 404
    assert client.get(f"/admin/rules/edit/?id={demo_rule.id}").status_code in (302, 404)


def test_support_adds_a_choice_question(client, auth, shop, support):
    db.session.commit()
    auth.login(support.email)
    client.post(
        "/admin/questions/new/",
        data={
            "shop": str(shop.id),
            "kind": "choice",
            "label_nl": "Hoe vaak gedragen?",
            "label_en": "How often worn?",
            "choices": "Nooit\nEén keer",
            "required": "y",
            "position": "1",
            "active": "y",
        },
    )
    question = db.session.scalar(select(FormQuestion))
    assert question.kind == "choice" and question.choices.splitlines() == ["Nooit", "Eén keer"]
    assert "question_created" in audit_actions()


def test_support_adds_and_removes_a_manual_notice(client, auth, shop, support):
    request = make_request(shop)
    db.session.commit()
    auth.login(support.email)

    client.post(
        f"/admin/manual-notice/?request={request.number}",
        data={"severity": "danger", "text_nl": "Fraudeverdacht", "text_en": "Suspected fraud"},
    )

    db.session.refresh(request)
    [notice] = request.notices
    assert notice.author_id == support.id and request.notice_count == 1
    workflow.run_notice_rules(request, "changed")
    assert request.notices == [notice]
    client.post(f"/admin/manual-notice/remove/{notice.id}")
    db.session.expire_all()
    assert request.notices == [] and request.notice_count == 0
    assert {"notice_added", "notice_removed"} <= set(audit_actions())


def template_form(shop, **fields):
    data = {
        "shop": str(shop.id),
        "name": "request_approved",
        "language": "nl",
        "subject": "Goed nieuws over {{ request.number }}",
        "body_text": "Hallo {{ request.customer_name }}, je retour mag terug.",
        "body_html": "",
    }
    data.update(fields)
    return data


def test_email_template_override_changes_the_email_and_reset_restores_default(
    client, auth, shop, support, smtp_sink
):
    first = make_request(shop)
    db.session.commit()
    auth.login(support.email)
    assert b"Request approved (to the customer):" in client.get("/admin/email_templates/new/").data

    client.post("/admin/email_templates/new/", data=template_form(shop))
    override = db.session.scalar(select(EmailTemplate))
    assert "email_template_created" in audit_actions()
    workflow.approve(first, support)
    db.session.commit()
    [message] = smtp_sink.to(first.customer_email)
    assert message["Subject"] == f"Goed nieuws over {first.number}"
    assert "je retour mag terug" in message.get_body(("plain",)).get_content()

    client.post(f"/admin/email_templates/reset/?id={override.id}")
    assert db.session.scalar(select(EmailTemplate)) is None
    assert "email_template_reset" in audit_actions()
    second = make_request(shop)
    workflow.approve(second, support)
    db.session.commit()
    [message] = smtp_sink.to(second.customer_email)
    assert not message["Subject"].startswith("Goed nieuws")
    assert second.number in message["Subject"]


def test_email_template_preview_uses_a_real_request_and_saves_nothing(client, auth, shop, support):
    request = make_request(shop)
    db.session.commit()
    auth.login(support.email)
    page = client.post(
        "/admin/email_templates/new/", data=template_form(shop, preview="1")
    ).get_data(as_text=True)
    assert f"Goed nieuws over {request.number}" in page
    assert f"Hallo {request.customer_name}" in page
    assert db.session.scalar(select(EmailTemplate)) is None


def test_unsafe_override_cannot_reach_the_server_and_the_default_is_sent(shop, support, smtp_sink):
    request = make_request(shop)
    db.session.add(
        EmailTemplate(
            shop_id=shop.id,
            name="request_approved",
            language="nl",
            subject="{{ ''.__class__.__mro__ }}",
            body_text="{{ config.SECRET_KEY }}",
        )
    )
    workflow.approve(request, support)
    db.session.commit()
    [message] = smtp_sink.to(request.customer_email)
    assert "class" not in message["Subject"] and request.number in message["Subject"]
    assert "test-secret" not in message.get_body(("plain",)).get_content()


def test_template_with_a_syntax_error_is_refused(client, auth, shop, support):
    db.session.commit()
    auth.login(support.email)
    client.post("/admin/email_templates/new/", data=template_form(shop, subject="{{ oops"))
    assert db.session.scalar(select(EmailTemplate)) is None


def test_new_shop_gets_the_free_exchange_rule(client, auth, support):
    db.session.commit()
    auth.login(support.email)
    client.post(
        "/admin/shops/new/",
        data={
            "slug": "fashion",
            "name": "Fashion",
            "brand_color": "#000000",
            "languages": "nl,en",
            "default_language": "nl",
            "return_window_days": "30",
            "withdrawal_window_days": "14",
            "offered_resolutions": "refund,exchange",
            "free_shipping_resolutions": "exchange",
            "return_fee_cents": "595",
            "currency": "EUR",
            "return_address_country": "NL",
            "hold_stale_hours": "8",
        },
    )
    [rule] = db.session.scalars(select(NoticeRule)).all()
    assert rule.name == notices.FREE_EXCHANGE_RULE and rule.shop.slug == "fashion"


def test_deleting_a_rule_takes_its_notices_off_the_requests(client, auth, shop, support):
    rule = notices.seed_default_rules(shop)
    request = make_request(shop, resolution="exchange", free_shipping=True)
    workflow.run_notice_rules(request, "submitted")
    db.session.commit()
    auth.login(support.email)
    client.post("/admin/rules/delete/", data={"id": str(rule.id)})
    db.session.expire_all()
    assert db.session.scalar(select(NoticeRule)) is None
    assert request.notices == [] and request.notice_count == 0
    assert "rule_deleted" in audit_actions()


def test_granted_admin_edits_own_shop_rules_but_not_global_ones(client, auth, shop):
    shop.admins_edit_form = True
    admin = make_user("admin@demo.example", shop, role="admin")
    global_rule = NoticeRule(
        name="Global", conditions=[{"kind": "free_exchange"}], message_nl="x", message_en="x"
    )
    db.session.add(global_rule)
    db.session.commit()
    auth.login(admin.email)
    assert b"Global" in client.get("/admin/rules/").data
    form = rule_form(cond_more_items_than="y", cond_more_items_than__count="5")
    client.post("/admin/rules/new/", data=form)
    assert db.session.scalar(select(NoticeRule).where(NoticeRule.name != "Global")) is None

    client.post("/admin/rules/new/", data={**form, "shop_id": str(shop.id)})
    assert db.session.scalar(select(NoticeRule).where(NoticeRule.shop_id == shop.id))
    response = client.post(f"/admin/rules/edit/?id={global_rule.id}", data=form)
    assert response.status_code == 403


def test_rule_form_is_refused_without_its_csrf_token(app, client, auth, shop, support):
    db.session.commit()
    auth.login(support.email)
    app.config["WTF_CSRF_ENABLED"] = True
    form = rule_form(
        shop_id=str(shop.id), cond_more_items_than="y", cond_more_items_than__count="5"
    )
    assert client.post("/admin/rules/new/", data=form).status_code == 400
    page = client.get("/admin/rules/new/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/admin/rules/new/", data={**form, "csrf_token": token}).status_code == 302
    assert db.session.scalar(select(NoticeRule)).name == "Order value above 250"


EMAIL_NAMES = sorted(
    path.name.removesuffix(".subject.txt")
    for path in (Path(__file__).parent.parent / "templates" / "email").glob("*.subject.txt")
    if path.name.removesuffix(".subject.txt") not in email_templates.PLATFORM_EMAILS
)


@pytest.mark.parametrize("name", EMAIL_NAMES)
def test_every_default_email_previews_from_a_real_request(app, name):
    assert name in email_templates.email_names()
    shop = make_shop()
    request = make_request(shop)
    request.messages.append(Message(direction="outbound", body="Kun je een foto sturen?"))
    db.session.commit()
    parts = [email_templates.default_source(name, part) for part in ("subject.txt", "txt", "html")]
    result = email_templates.preview(shop, "nl", *parts)
    assert "error" not in result, result.get("error")
    assert result["subject"]
