"""Dutch speaks to its reader as "je": no translation, email or demo text says "u" or "uw".

A shop may ask for the formal "u" (Settings): that lives in its own catalog
(``translations_formal``, see test_formal_address.py); the main catalog stays informal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from translation_helpers import translations_of

ROOT = Path(__file__).resolve().parent.parent
# Whole words only: "uur", "uit", "duw" or "Uwe" in a name are no form of address, nor is
# a word in quotes (the setting that names “u”).
FORMAL = re.compile(r"(?<!“)\b(?:u|uw|uzelf|alstublieft)\b(?!”)", re.IGNORECASE)
# Ours, and our corrections of Flask-Admin's own Dutch (its catalog says "Weet u zeker…").
DUTCH_CATALOGS = (
    "translations/nl/LC_MESSAGES/messages.po",
    "translations/nl/LC_MESSAGES/admin.po",
)
# The demo's Dutch texts a customer or an agent reads (form questions, reasons, messages).
DEMO_SOURCES = ("demo/data.py", "demo/seeding.py")


def formal_words(text: str) -> list[str]:
    return FORMAL.findall(text)


@pytest.mark.parametrize("catalog", DUTCH_CATALOGS)
def test_no_dutch_translation_says_u(catalog):
    with (ROOT / catalog).open("rb") as po:
        entries = list(read_po(po, locale="nl"))
    formal = [
        f"{entry.id!r} -> {translation!r}"
        for entry in entries
        if entry.id
        for translation in translations_of(entry)
        if translation and formal_words(translation)
    ]
    if formal:
        pytest.fail("these Dutch texts say u/uw instead of je/jouw:\n" + "\n".join(formal))


@pytest.mark.parametrize("source", DEMO_SOURCES)
def test_no_demo_text_says_u(source):
    tree = ast.parse((ROOT / source).read_text(encoding="utf-8"))
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert [text for text in strings if formal_words(text)] == []


@pytest.mark.parametrize(
    ("text", "formal"),
    [
        ("Heeft u een vraag over uw retour?", ["u", "uw"]),
        ("U kunt het label printen.", ["U"]),
        ("Binnen 24 uur uit huis; duw het pakket in de brievenbus.", []),
        ("Heb je een vraag over jouw retour?", []),
        ("Klanten aanspreken met “u” en “uw”", []),
    ],
)
def test_the_check_finds_only_the_pronouns(text, formal):
    assert formal_words(text) == formal
