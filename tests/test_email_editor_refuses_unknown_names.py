"""The email editor refuses a template that would go out with a blank: a name the email does not
have (``{{ number }}``, ``{{ request.numbr }}``) or a syntax error is named, in the editor's
language, and nothing is saved. The names an email may use stand beside the editor, and each
email is named in words, not by its code."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from models import EmailTemplate, User
from web.admin import email_templates

EMAIL_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
SHOP_EMAILS = sorted(
    path.name.removesuffix(".subject.txt")
    for path in EMAIL_DIR.glob("*.subject.txt")
    if path.name.removesuffix(".subject.txt") not in email_templates.PLATFORM_EMAILS
)


def template_form(shop, **fields) -> dict[str, str]:
    return {
        "shop": str(shop.id),
        "name": "request_approved",
        "language": "nl",
        "subject": "Goed nieuws over {{ request.number }}",
        "body_text": "Hallo {{ request.customer_name }}, je retour mag terug.",
        "body_html": "",
        **fields,
    }


@pytest.fixture
def editor(client, auth, shop, support):
    """Support logged in; ``editor(language)`` sets the language the editor speaks."""

    def speaking(language: str = "en"):
        db.session.get(User, support.id).language = language
        db.session.commit()
        auth.login(support.email)
        return client

    return speaking


def save(client, shop, **fields) -> str:
    page = client.post("/admin/email_templates/new/", data=template_form(shop, **fields))
    return html.unescape(page.get_data(as_text=True)) if page.status_code == 200 else ""


def saved_templates() -> list[EmailTemplate]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailTemplate)))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The template uses number, which this email does not have."),
        ("nl", "Het sjabloon gebruikt number, maar dat kent deze e-mail niet."),
    ],
)
def test_an_unknown_name_is_refused_and_named(editor, shop, language, expected):
    page = save(editor(language), shop, body_text="Je retour {{ number }} mag terug.")
    assert expected in page
    assert saved_templates() == []


def test_an_unknown_name_on_a_path_the_example_does_not_take_is_refused(editor, shop):
    page = save(editor(), shop, body_text="{% if request.keep_items %}{{ numbr }}{% endif %}")
    assert "The template uses numbr, which this email does not have." in page
    assert saved_templates() == []


def test_an_unknown_part_of_a_known_name_is_refused_and_named(editor, shop):
    page = save(editor(), shop, subject="Retour {{ request.numbr }}")
    assert "The template uses request.numbr, which this email does not have." in page
    page = save(editor(), shop, body_text="{% for line in lines %}{{ line.resaon }}{% endfor %}")
    assert "The template uses line.resaon, which this email does not have." in page
    assert saved_templates() == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Line 2 of the template has an error: "),
        ("nl", "Regel 2 van het sjabloon bevat een fout: "),
    ],
)
def test_a_syntax_error_is_refused_with_its_line(editor, shop, language, expected):
    page = save(editor(language), shop, body_text="Hallo,\n{{ request.number }\n")
    assert expected in page
    assert saved_templates() == []


def test_names_the_template_makes_itself_and_the_sandboxs_functions_are_fine(editor, shop):
    body = (
        "{% set greeting = _('Hello') %}{{ greeting }} {{ request.customer_name }}\n"
        "{% for line in lines %}{{ line.order_line.product_name }}: {{ line.reason }}\n"
        "{% endfor %}{% if return_ %}{{ return_.number }}{% endif %} {{ money(499, 'EUR') }}"
    )
    save(editor(), shop, body_text=body)
    [template] = saved_templates()
    assert template.body_text == body


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("name", SHOP_EMAILS)
def test_every_default_email_saves_unchanged(editor, shop, name, language):
    client = editor()
    page = client.get(f"/admin/email_templates/new/?name={name}&language={language}")
    assert page.status_code == 200
    parts = {
        field: (EMAIL_DIR / f"{name}.{suffix}").read_text()
        for field, suffix in (
            ("subject", "subject.txt"),
            ("body_text", "txt"),
            ("body_html", "html"),
        )
    }
    save(client, shop, name=name, language=language, **parts)
    assert [(t.name, t.language) for t in saved_templates()] == [(name, language)]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Request approved (to the customer)", "New request (to the shop's staff)")),
        (
            "nl",
            ("Aanvraag goedgekeurd (aan de klant)", "Nieuwe aanvraag (aan het team van de winkel)"),
        ),
    ],
)
def test_the_editor_names_emails_in_words_and_lists_the_names_beside_it(
    editor, shop, language, words
):
    client = editor(language)
    page = html.unescape(client.get("/admin/email_templates/new/").get_data(as_text=True))
    for word in words:
        assert f'<option value="request_approved">{words[0]}</option>' in page
        assert f"<li>{word}:" in page
    assert ">request_new_staff<" not in page and "request_new_staff (nl)" not in page
    names = page.split('<details id="email-names" open>')[1].split("</details>")[0]
    for name in ("request.number", "shop.name", "line.reason", "status_url"):
        assert f"<code>{name}</code>" in names

    save(client, shop)
    listing = html.unescape(client.get("/admin/email_templates/").get_data(as_text=True))
    assert words[0] in listing
