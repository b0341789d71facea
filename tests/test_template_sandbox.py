"""Email templates see plain data only: known template-injection (SSTI) payloads are tried
against the editor's preview, saving an override, and the emails actually delivered (the
portal's confirmation, a single approval and a bulk approval). None may leak the secret key,
a password hash, another shop's customer, the database, a command's output or an ORM object.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from extensions import db
from factories import make_order, make_reasons, make_request, make_shop, make_user
from models import EmailTemplate, Order, ReturnReason, ReturnRequest, Shop, User
from portal_helpers import (
    PORTAL_ORDER,
    choose,
    choose_resolution,
    give_details,
    lookup,
    submission_key,
    submit,
)
from staff_helpers import emails_to

CUSTOMER = "klant@example.com"
VICTIM = "victim@fashion.example"

# Real payloads, as found in SSTI cheat sheets, aimed at what a template was handed.
PAYLOADS = [
    # The ORM: a model's ``query`` leads to the session, the engine and every table.
    "{{ request.query.session.bind }}",
    "{{ request.shop.query.session.get_bind().url }}",
    "{{ shop.query.all() }}",
    "{% for r in request.query.all() %}{{ r.customer_email }} {% endfor %}",
    "{% for m in shop.memberships %}{{ m.user.email }} {{ m.user.password_hash }}{% endfor %}",
    "{{ request.query.session.bind.dialect.loaded_dbapi }}",
    "{{ request.query.session.connection().exec_driver_sql('UPDATE \"user\" SET is_support = true') }}",
    "{{ request }} {{ shop }} {{ lines }}",
    "{{ '%s'|format(request) }} {{ '%r'|format(lines) }}",
    "{{ lines|map(attribute='order_line')|list }}",
    "{{ lines|map(attribute='order_line')|map(attribute='order')|list }}",
    "{{ lines|map('attr','query')|list }}",
    "{{ request|attr('query')|attr('session') }}",
    # Python's object graph from any value.
    "{{ request.__class__ }}",
    r"{{ request|attr('\x5f\x5fclass\x5f\x5f') }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ '{0.__class__.__init__.__globals__}'.format(request) }}",
    "{{ request.__dict__ }}",
    # Jinja's and Flask's globals.
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ config }} {{ config.SECRET_KEY }}",
    "{{ url_for.__globals__ }}",
    "{{ get_locale() }}",
    "{{ money.__globals__ }}",
    "{{ _.__globals__ }}",
]

# What none of them may reveal, besides the secrets a world fixture makes (see ``leaks``).
ORM_TRACES = (
    "<ReturnRequest",
    "<Shop",
    "<models.",
    "sqlalchemy",
    " object at 0x",
    "<module",
    "<class",
    "<function",
    "<bound method",
    "Engine(",
    "uid=",
    "test-secret",
    VICTIM,
)


@dataclass
class World:
    shop: Shop
    order: Order
    reason: ReturnReason
    request: ReturnRequest
    secrets: tuple[str, ...]


@pytest.fixture
def world(shop, support) -> World:
    """Shop "demo" with an admin, support staff, an order the portal finds and a request to
    approve; and shop "fashion", whose customer the demo shop's emails must never name."""
    reason = make_reasons(shop)["too_big"]
    order = make_order(shop, **PORTAL_ORDER | {"customer_email": CUSTOMER})
    admin = make_user("owner@demo.example.com", shop, role="admin")
    other = make_shop("fashion", "Mode Huis")
    make_request(other, order=make_order(other, customer_email=VICTIM))
    request = make_request(shop)
    db.session.commit()
    database = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database
    secrets = (admin.password_hash, support.password_hash, "scrypt:", "pbkdf2:", database)
    return World(shop, order, reason, request, secrets)


def leaks(world: World, text: str) -> list[str]:
    """The secrets and ORM traces found in ``text`` (HTML entities decoded)."""
    text = html.unescape(html.unescape(text))
    found = [trace for trace in (*ORM_TRACES, *world.secrets) if trace and trace in text]
    return found + (["sqlalchemy"] if "sqlalchemy" in text.lower() else [])


def support_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.is_support))


def override(name: str, payload: str) -> dict[str, str]:
    """Subject and bodies around ``payload``; each still names the request, so the email
    identifies itself whether the override rendered or the default replaced it. (The subject
    is cut short: one longer than the outbox stores is refused, see the test below.)"""
    return {
        "name": name,
        "subject": "{{ request.number }} {% filter truncate(250) %}" + payload + "{% endfilter %}",
        "body_text": payload + "\n{{ request.number }}",
        "body_html": "<p>" + payload + "</p><p>{{ request.number }}</p>",
    }


def store_override(shop: Shop, name: str, payload: str) -> None:
    """An override already in the database, as saved before templates were checked."""
    for language in ("nl", "en"):
        db.session.add(EmailTemplate(shop_id=shop.id, language=language, **override(name, payload)))
    db.session.commit()


def editor_form(shop: Shop, payload: str, **fields) -> dict[str, str]:
    return {
        "shop": str(shop.id),
        "language": "nl",
        **override("request_approved", payload),
    } | fields


def preview_section(page: str) -> str:
    start = page.index('id="email-preview"')
    return page[start : page.index("</section>", start)]


def delivered_text(message) -> str:
    parts = [message["Subject"], message.get_body(("plain",)).get_content()]
    html_part = message.get_body(("html",))
    return "\n".join(parts + ([html_part.get_content()] if html_part else []))


# What the editor says when it refuses a template.
REFUSED = re.compile(r"The template cannot be used|The template uses [\w.]+, which this email")


def saved_overrides() -> int:
    return db.session.scalar(select(func.count()).select_from(EmailTemplate))


# --- the editor: preview and save ----------------------------------------------------------

# These render harmlessly (plain data) and may be saved; every other payload reaches for
# what emails may not touch, uses a name emails do not have, or calls what does not exist,
# and is refused.
HARMLESS = {
    "{{ request }} {{ shop }} {{ lines }}",
    "{{ '%s'|format(request) }} {{ '%r'|format(lines) }}",
    "{{ lines|map(attribute='order_line')|list }}",
    "{{ lines|map(attribute='order_line')|map(attribute='order')|list }}",
    "{{ lines|map('attr','query')|list }}",
}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_editor_preview_and_save_of_a_hostile_template_reveal_nothing(client, auth, world, payload):
    auth.login("support@returndesk.test")
    form = editor_form(world.shop, payload)
    preview = client.post("/admin/email_templates/new/", data=form | {"preview": "1"})
    assert preview.status_code == 200
    assert leaks(world, preview_section(preview.get_data(as_text=True))) == []
    assert saved_overrides() == 0

    saved = client.post("/admin/email_templates/new/", data=form, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert leaks(world, page) == []
    if payload in HARMLESS:
        assert saved_overrides() == 1
    else:
        assert saved_overrides() == 0
        assert REFUSED.search(page)
    assert support_count() == 1


def test_saving_a_template_with_an_unknown_function_says_why(client, auth, world):
    auth.login("support@returndesk.test")
    page = client.post(
        "/admin/email_templates/new/", data=editor_form(world.shop, "{{ get_locale() }}")
    ).get_data(as_text=True)
    assert "The template uses get_locale, which this email does not have." in page
    assert saved_overrides() == 0


def test_override_whose_subject_is_too_long_is_refused_and_the_default_is_sent(
    client, auth, world, smtp_sink
):
    long_subject = "{{ request.number }} {% for line in lines %}{{ request }}{% endfor %}"
    auth.login("support@returndesk.test")
    page = client.post(
        "/admin/email_templates/new/",
        data=editor_form(world.shop, "") | {"subject": long_subject},
    ).get_data(as_text=True)
    assert "the subject is longer than 300 characters" in page
    assert saved_overrides() == 0

    db.session.add(
        EmailTemplate(
            shop_id=world.shop.id,
            name="request_approved",
            language="nl",
            subject=long_subject,
            body_text="{{ request.number }}",
        )
    )
    db.session.commit()
    auth.login("owner@demo.example.com")
    client.post(
        f"/admin/requests/{world.request.id}/act",
        data={"action": "approve", "version": str(world.request.version)},
    )
    [message] = emails_to(smtp_sink, world.request.customer_email)
    assert message["Subject"] == f"Je retour {world.request.number} bij Demo Winkel is goedgekeurd"


# --- delivery --------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_override_saved_earlier_never_reaches_a_delivered_email(
    client, auth, world, smtp_sink, payload
):
    """The anonymous customer's submission writes its emails at once; a bulk approval leaves
    its email for the delivery job to write: both paths meet the override."""
    for name in ("request_confirmation", "request_new_staff", "request_approved"):
        store_override(world.shop, name, payload)
    blouse = world.order.lines[0].id
    assert lookup(client, "1001", CUSTOMER).status_code == 302
    choose(client, {blouse: 1})
    give_details(client, [blouse], world.reason)
    choose_resolution(client)
    assert submit(client, submission_key(client)).status_code == 302
    submitted = db.session.scalar(select(ReturnRequest).where(ReturnRequest.order == world.order))

    auth.login("owner@demo.example.com")
    client.post(
        f"/admin/requests/bulk?ids={submitted.id}&action=approve", data={"action": "approve"}
    )

    confirmation, approval = emails_to(smtp_sink, CUSTOMER)
    [to_staff] = emails_to(smtp_sink, "returns@demo.example.com")
    for message in (confirmation, approval, to_staff):
        assert submitted.number in message["Subject"]
        assert leaks(world, delivered_text(message)) == []
    assert support_count() == 1


# --- what an override may use ----------------------------------------------------------------

DOCUMENTED = {
    "subject": "{{ _('Approved') }}: {{ request.number }}",
    "body_text": (
        "{{ request.customer_name }} ({{ request.status_label }})\n"
        "{% for line in lines %}{{ line.quantity }} x {{ line.order_line.product_name }}"
        " {{ line.order_line.price }} [{{ line.reason }}]\n{% endfor %}"
        "{{ request.return_fee }} / {{ money(1995, shop.currency) }}\n"
        "{{ shop.name }} {{ status_url }} {{ language }}"
    ),
    "body_html": "",
}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            [
                "Goedgekeurd",
                "€\xa049,95",
                "€\xa059,95",
                "€\xa05,95",
                "€\xa019,95",
                "[Te groot]",
                " nl",
            ],
        ),
        ("en", ["Approved", "€49.95", "€59.95", "€5.95", "€19.95", "[Too big]", " en"]),
    ],
)
def test_override_with_the_documented_names_renders_request_items_and_amounts(
    client, auth, world, smtp_sink, language, expected
):
    request = world.request
    request.language = language
    for line in request.lines:
        line.reason = world.reason
    db.session.commit()
    auth.login("support@returndesk.test")
    client.post(
        "/admin/email_templates/new/",
        data={"shop": str(world.shop.id), "name": "request_approved", "language": language}
        | DOCUMENTED,
    )
    assert saved_overrides() == 1

    auth.login("owner@demo.example.com")
    client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "approve", "version": str(request.version)},
    )
    [message] = emails_to(smtp_sink, request.customer_email)
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == f"{expected[0]}: {request.number}"
    assert f"{request.customer_name} ({expected[0]})" in text
    assert "1 x Linnen blouse" in text and "1 x Wollen trui" in text
    for word in expected[1:]:
        assert word in text, (word, text)
    assert f"http://returndesk.test/returns/demo/status/{request.public_token}" in text
    assert leaks(world, delivered_text(message)) == []


def test_approving_one_request_from_its_page_emails_the_approved_items(
    client, auth, world, smtp_sink
):
    request = world.request
    auth.login("owner@demo.example.com")
    client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "approve", "version": str(request.version)},
    )
    [message] = emails_to(smtp_sink, request.customer_email)
    text = message.get_body(("plain",)).get_content()
    sent_back = text.split("Je mag terugsturen:")[1]
    assert "1 × Linnen blouse (M)" in sent_back and "1 × Wollen trui (M)" in sent_back


def test_editor_lists_the_names_a_template_may_use_in_the_readers_language(client, auth, world):
    auth.login("support@returndesk.test")
    english = client.get("/admin/email_templates/new/", headers={"Accept-Language": "en"}).text
    dutch = client.get("/admin/email_templates/new/", headers={"Accept-Language": "nl"}).text
    for page in (english, dutch):
        for name in ("request.number", "line.order_line.product_name", "money(cents, currency)"):
            assert f"<code>{name}</code>" in page
        assert "<code>user</code>" not in page  # the platform's own emails only
    assert "The request's number, e.g. R-2026-00042." in html.unescape(english)
    assert "Het nummer van de aanvraag, bijv. R-2026-00042." in dutch
