"""Every string the app can show has a real Dutch translation with the same placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
DUTCH_PO = ROOT / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def source_messages() -> dict[str, list[str]]:
    """``{msgid: [where it is used]}`` for every translatable string, extracted as babel.cfg says."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message  # plurals: the singular
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def dutch_catalog():
    with DUTCH_PO.open("rb") as po:
        return read_po(po, locale="nl")


def translations_of(entry) -> list[str]:
    return list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_source_string_has_a_dutch_translation():
    catalog = dutch_catalog()
    missing = []
    for msgid, places in sorted(source_messages().items()):
        entry = catalog.get(msgid)
        if entry is None or entry.fuzzy or not all(translations_of(entry)):
            missing.append(f"{msgid!r} ({places[0]})")
    if missing:
        pytest.fail(f"{len(missing)} strings have no Dutch translation:\n" + "\n".join(missing))


def test_dutch_translations_keep_the_placeholders_of_the_english():
    mismatched = []
    for entry in dutch_catalog():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple | list) else (entry.id,)
        expected = set().union(*(placeholders(msgid) for msgid in ids))
        for translation in translations_of(entry):
            if translation and placeholders(translation) != expected:
                mismatched.append(f"{ids[0]!r} -> {translation!r}")
    if mismatched:
        pytest.fail("placeholders differ in Dutch:\n" + "\n".join(mismatched))
