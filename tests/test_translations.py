"""Every string the app can show has a real Dutch translation with the same placeholders."""

import pytest

from translation_helpers import dutch_catalog, placeholders, source_messages, translations_of


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
