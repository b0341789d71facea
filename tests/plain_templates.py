"""Templates see plain data, never an ORM object: every page the suite renders is checked.

A template handed a model can reach what the view never meant to show (a password hash,
another shop through a relationship) and runs queries while it renders. The ``app`` fixture
records, for each template rendered during a test, every model instance found in what the
view passed (walked through dicts, lists, tuples, sets and dataclasses), and the test fails
on any.

Two packages the design card requires hand templates models by design, and are let be
(docs/ARCHITECTURE.md): Flask-Admin's generic model views give their list and form templates
the rows themselves (``data``, ``model``), and Flask-Login puts the logged-in user in every
template (``current_user``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, before_render_template

from extensions import db

PACKAGES_OWN = frozenset({"data", "model", "current_user"})


def models_in(value: object, depth: int = 0) -> Iterator[str]:
    """The class names of the model instances in ``value``, looked for four levels deep."""
    if isinstance(value, db.Model):
        yield type(value).__name__
    elif depth < 4:
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            items = list(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            items = [getattr(value, field.name) for field in dataclasses.fields(value)]
        else:
            return
        for item in items:
            yield from models_in(item, depth + 1)


@contextmanager
def models_handed_to_templates(app: Flask) -> Iterator[list[str]]:
    """Collect ``"template: key holds Model"`` for every model a view hands a template."""
    found: list[str] = []

    def look(_sender, template, context, **_extra) -> None:
        if template.name is None:  # a template a test writes itself, as a string
            return
        for key, value in context.items():
            if key in PACKAGES_OWN:
                continue
            found.extend(f"{template.name}: {key} holds {name}" for name in models_in(value))

    before_render_template.connect(look, app)
    try:
        yield found
    finally:
        before_render_template.disconnect(look, app)
