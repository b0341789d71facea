"""Every status, resolution, condition, role and audit action has its words in one place.

domain/statuses.py holds them; these tests hold that every value a column may take and every
action the audit trail writes has its English and Dutch words and its colour there, that no
other module writes such a word again, and that a request's history shows words, not codes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

import models
from domain import audit, statuses, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_shop, make_user
from models import AuditEvent, User
from return_flow import approved_request, create_label
from translation_helpers import dutch_catalog, source_messages

ROOT = Path(__file__).resolve().parent.parent
STATUSES_PY = "domain/statuses.py"
# A line not decided yet reads "open" in Dutch too: there the word happens to be the code.
WORD_IS_THE_CODE = {"open"}
BOOTSTRAP_COLOURS = {
    "primary",
    "secondary",
    "success",
    "danger",
    "warning",
    "info",
    "light",
    "dark",
}

# (what, the values the models allow, their words, their colours or None)
VOCABULARIES = [
    ("request status", models.REQUEST_STATUSES, statuses.STATUS_LABELS, statuses.STATUS_BADGES),
    (
        "return status",
        models.RETURN_STATUSES,
        statuses.RETURN_STATUS_LABELS,
        statuses.RETURN_STATUS_BADGES,
    ),
    (
        "label status",
        models.LABEL_STATUSES,
        statuses.LABEL_STATUS_LABELS,
        statuses.LABEL_STATUS_BADGES,
    ),
    (
        "line decision",
        models.LINE_DECISIONS,
        statuses.LINE_DECISION_LABELS,
        statuses.LINE_DECISION_BADGES,
    ),
    ("condition", models.LINE_CONDITIONS, statuses.CONDITION_LABELS, None),
    (
        "refund note",
        (
            statuses.REJECTED,
            statuses.FEWER_RECEIVED,
            statuses.PARTLY_REFUNDED,
            statuses.NOT_REFUNDED,
            *tuple(c for c in models.LINE_CONDITIONS if c != models.CONDITION_OK),
        ),
        statuses.REFUND_NOTE_LABELS,
        None,
    ),
    ("refund choice", models.REFUND_CHOICES, statuses.REFUND_CHOICE_LABELS, None),
    ("resolution", models.RESOLUTIONS, statuses.RESOLUTION_LABELS, None),
    ("role", models.ROLES, statuses.ROLE_LABELS, None),
    ("severity", models.SEVERITIES, statuses.SEVERITY_LABELS, statuses.SEVERITY_BADGES),
    (
        "email status",
        models.EMAIL_STATUSES,
        statuses.EMAIL_STATUS_LABELS,
        statuses.EMAIL_STATUS_BADGES,
    ),
    (
        "webhook delivery status",
        models.WEBHOOK_DELIVERY_STATUSES,
        statuses.WEBHOOK_DELIVERY_STATUS_LABELS,
        statuses.WEBHOOK_DELIVERY_STATUS_BADGES,
    ),
    (
        "refund status",
        models.REFUND_STATUSES,
        statuses.REFUND_STATUS_LABELS,
        statuses.REFUND_STATUS_BADGES,
    ),
    (
        "disposition",
        models.DISPOSITIONS,
        statuses.DISPOSITION_LABELS,
        statuses.DISPOSITION_BADGES,
    ),
    (
        "non-returnable reason",
        models.NON_RETURNABLE_REASON_CODES,
        statuses.NON_RETURNABLE_REASONS,
        None,
    ),
    ("bulk action", tuple(workflow.BULK_SOURCES), statuses.REQUEST_ACTION_LABELS, None),
]


def english(label) -> str:
    with force_locale("en"):
        return str(label)


def dutch(label) -> str:
    with force_locale("nl"):
        return str(label)


@pytest.mark.parametrize(
    ("values", "labels", "badges"),
    [
        pytest.param(values, labels, badges, id=what)
        for what, values, labels, badges in VOCABULARIES
    ],
)
def test_every_value_the_models_allow_has_english_and_dutch_words_and_a_colour(
    app, values, labels, badges
):
    catalog = dutch_catalog()
    assert set(values) <= set(labels), "values without words"
    for value in values:
        label = labels[value]
        entry = catalog.get(english(label))
        assert entry is not None and entry.string, f"{english(label)!r} is not in the .po"
        assert dutch(label) == entry.string
        assert dutch(label) != value or value in WORD_IS_THE_CODE
    if badges is not None:
        assert set(badges) == set(labels)
        assert set(badges.values()) <= BOOTSTRAP_COLOURS


def test_the_word_dicts_name_no_value_the_models_do_not_allow():
    stale = {
        what: set(labels) - set(values)
        for what, values, labels, _badges in VOCABULARIES
        if what != "bulk action"  # the buttons name more actions than run in bulk
    }
    assert all(not extra for extra in stale.values()), stale


def test_the_customer_reads_every_request_status_in_words_with_a_next_step(app):
    assert set(statuses.CUSTOMER_STATUS_WORDS) == set(models.REQUEST_STATUSES)
    for words, next_step in statuses.CUSTOMER_STATUS_WORDS.values():
        assert dutch(words) != english(words) or dutch(words) == "Concept"
        assert dutch(next_step) != english(next_step)


# The audit trail: every action written anywhere has words in statuses.AUDIT_LABELS.
#
# The code is read, not run: every call of a function that writes an AuditEvent is found and
# its action worked out: a literal, a choice between literals, a local name set to those, or
# the writer's own parameter passed on (then its callers are read). An action built any other
# way must be listed in DYNAMIC_ACTIONS below with the values it can take.

# Writers of audit events: the function's name and where its action is (position, keyword).
WRITERS = {
    "record": (2, "action"),
    "_record_return": (2, "action"),
    "_transition": (3, "action"),
    "audit_notice": (1, "action"),
    "record_change": (0, "action"),
    "_bulk_audit": (0, "action"),
    "_sweep_audit": (1, "action"),
    "AuditEvent": (None, "action"),
}


def editor_nouns() -> set[str]:
    from web.admin.editor_base import EditorView

    views, nouns = [EditorView], set()
    while views:
        view = views.pop()
        views += view.__subclasses__()
        if view is not EditorView and "audit_noun" in vars(view):  # not a shared base
            nouns.add(view.audit_noun)
    return nouns


def dynamic_actions() -> dict[tuple[str, str], set[str]]:
    """``{(file, expression): the actions it can be}`` for actions not written out literally."""
    tracked = (models.RETURN_IN_TRANSIT, models.RETURN_DELIVERED, models.RETURN_CANCELLED)
    return {
        ("domain/workflow.py", "f'resolved_{kind}'"): {f"resolved_{k}" for k in models.RESOLUTIONS},
        # workflow.apply_tracking_event moves a return on these statuses only.
        ("domain/workflow.py", "f'tracking_{event.status}'"): {f"tracking_{s}" for s in tracked},
        # A bulk action is one of workflow.BULK_SOURCES (the views refuse any other).
        ("domain/workflow.py", "action"): set(workflow.BULK_SOURCES),
        ("web/admin/editor_base.py", "f'{self.audit_noun}_{verb}'"): {
            f"{noun}_{verb}" for noun in editor_nouns() for verb in ("created", "changed")
        },
        ("web/admin/editor_base.py", "f'{self.audit_noun}_deleted'"): {
            f"{noun}_deleted" for noun in editor_nouns()
        },
        # Only reasons and questions have a place in the form (return_form.OrderedInForm).
        ("web/admin/return_form.py", "f'{self.audit_noun}_moved'"): {
            "reason_moved",
            "question_moved",
        },
    }


def source_files() -> list[Path]:
    skip = {".venv", "tests", "migrations", "bench", ".git", "node_modules"}
    return sorted(
        path for path in ROOT.rglob("*.py") if not skip & set(path.relative_to(ROOT).parts)
    )


def callee_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def action_argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


class ActionCollector(ast.NodeVisitor):
    """Every action a file writes, and the expressions it could not work out."""

    def __init__(self, path: str, dynamic: dict) -> None:
        self.path, self.dynamic = path, dynamic
        self.functions: list[ast.FunctionDef] = []
        self.actions: set[str] = set()
        self.unknown: list[str] = []

    def visit_FunctionDef(self, node) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = callee_name(node)
        if name in WRITERS:
            argument = action_argument(node, *WRITERS[name])
            if argument is not None:
                self.actions |= self.values(argument)
        if name == "execute" and node.args and ast.unparse(node.args[0]) == "insert(AuditEvent)":
            for row in ast.walk(node):
                if isinstance(row, ast.Dict):
                    for key, value in zip(row.keys, row.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "action":
                            self.actions |= self.values(value)
        self.generic_visit(node)

    def values(self, node: ast.expr) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.values(node.body) | self.values(node.orelse)
        function = self.functions[-1] if self.functions else None
        if isinstance(node, ast.Name) and function is not None:
            parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
            if node.id in parameters and function.name in WRITERS:
                return set()  # passed on by a writer: its callers are read
            assigned = [
                each.value
                for each in ast.walk(function)
                if isinstance(each, ast.Assign)
                and [ast.unparse(t) for t in each.targets] == [node.id]
            ]
            if assigned and node.id not in parameters:
                return set().union(*(self.values(value) for value in assigned))
        key = (self.path, ast.unparse(node))
        if key in self.dynamic:
            return self.dynamic[key]
        self.unknown.append(f"{self.path}:{node.lineno}: {ast.unparse(node)}")
        return set()


def written_actions() -> set[str]:
    dynamic = dynamic_actions()
    actions: set[str] = set()
    unknown: list[str] = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        collector = ActionCollector(relative, dynamic)
        collector.visit(ast.parse(path.read_text(), relative))
        actions |= collector.actions
        unknown += collector.unknown
    assert not unknown, "actions this test cannot work out; add them to dynamic_actions():\n" + (
        "\n".join(unknown)
    )
    return actions


def benchmark_actions() -> set[str]:
    """The audit rows bench/seed.py writes for its million requests."""
    tree = ast.parse((ROOT / "bench" / "seed.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "TO_STATUS":
            return set(ast.literal_eval(node.value))
    raise AssertionError("bench/seed.py has no TO_STATUS")


def test_every_audit_action_written_anywhere_has_words():
    actions = written_actions()
    # The reading finds what it should: one of each kind of writer.
    assert {"link_renewed", "approve_keep", "withdrawal", "tracking_delivered"} <= actions
    assert {"label_ready", "notice_cleared", "rule_deleted", "email_template_reset"} <= actions
    assert {"customer_replied", "free_shipping_off", "resolved_store_credit"} <= actions
    assert actions | benchmark_actions() <= set(statuses.AUDIT_LABELS), "actions without words"
    assert set(statuses.AUDIT_LABELS) <= actions, "words for actions nothing writes"


def test_every_audit_action_has_dutch_words(app):
    catalog = dutch_catalog()
    for action, label in statuses.AUDIT_LABELS.items():
        entry = catalog.get(english(label))
        assert entry is not None and entry.string, action
        assert dutch(label) == entry.string not in (action, english(label))


def test_the_reading_fails_on_an_action_it_cannot_work_out():
    code = "def approve_later(req, how):\n    record(req, None, how)\n"
    collector = ActionCollector("domain/new.py", {})
    collector.visit(ast.parse(code))
    assert collector.unknown == ["domain/new.py:2: how"]
    collector = ActionCollector("domain/new.py", {})
    collector.visit(ast.parse("record(req, None, 'brand_new' if x else 'approve')"))
    assert collector.actions == {"brand_new", "approve"}


# One place: no module but statuses.py writes the word of a status, a resolution, a
# condition, a role or an action. A few files use the same English word for something else.
SAME_WORD_OTHER_MEANING = {
    ("Delivered", "web/admin/integration.py"): "the column of the times deliveries arrived",
    ("Delivered", "web/admin/tables.py"): "the column of the dates orders were delivered",
    ("Delivered", "templates/admin/requests/page.html"): "the date the order was delivered",
    ("Sent", "web/admin/outbox.py"): "the column of the times emails were sent",
    ("Cancel", "templates/admin/order_import.html"): "leaving the import without importing",
}


def test_no_module_but_statuses_writes_a_status_word():
    found = source_messages()
    words = {msgid for msgid, places in found.items() for p in places if p.startswith(STATUSES_PY)}
    elsewhere = {
        (word, place.rsplit(":", 1)[0])
        for word in words
        for place in found[word]
        if not place.startswith(STATUSES_PY)
    }
    assert elsewhere == set(SAME_WORD_OTHER_MEANING)


def test_templates_print_statuses_through_the_words_not_by_testing_codes():
    """A template may test a status to choose what to show, never to print its word."""
    printing = re.compile(
        r"""\{%-?\s*(?:el)?if [\w.]*(?:status|decision|resolution|condition|severity)"""
        r"""\s*==\s*'\w+'\s*-?%\}\s*(?:<span class="badge[^>]*>)?\{\{\s*_\("""
    )
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for match in printing.finditer(path.read_text())
    ]
    assert offenders == []


# A request's history: words for every event, its return's included.


def history_of(page: str) -> str:
    return re.search(r'<ol class="list-unstyled" id="timeline">(.*?)</ol>', page, re.S).group(1)


@pytest.fixture
def shipment_delivered(app):
    """A request whose return got its label, a tracking event and a staff step."""
    shop = make_shop(**RETURN_ADDRESS)
    agent = make_user("anna@example.com", shop)
    return_ = create_label(approved_request(shop, agent))
    event = workflow.TrackingEvent(return_.tracking_number, "in_transit", return_.created_at)
    assert workflow.apply_tracking_event(return_, event, audit.Actor(label="Sendcloud"))
    workflow.mark_delivered(return_, agent)
    db.session.commit()
    return return_


def test_a_requests_history_shows_words_for_its_returns_events(client, auth, shipment_delivered):
    return_ = shipment_delivered
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"return_created", "label_ready", "tracking_in_transit", "delivered"} <= actions
    auth.login("anna@example.com")

    history = history_of(client.get(f"/admin/requests/{return_.request_id}").get_data(True))

    for code in ("return_created", "label_ready", "tracking_in_transit", "in_transit"):
        assert code not in history
    assert "The customer created a return label (Own label)." in history
    assert "The return label was made: " in history
    assert "Sendcloud reported the parcel in transit (Label created → In transit)" in history
    assert "Anna marked the return delivered (In transit → Delivered)." in history
    assert "Anna approved the request (New → Approved)." in history


def test_a_returns_history_shows_the_same_words_in_dutch(client, auth, shipment_delivered):
    return_ = shipment_delivered
    db.session.scalar(select(User).where(User.email == "anna@example.com")).language = "nl"
    db.session.commit()
    auth.login("anna@example.com")

    history = history_of(client.get(f"/admin/returns/{return_.id}").get_data(True))

    assert "meldde het pakket onderweg (Label aangemaakt → Onderweg)" in history
    assert "Anna markeerde de retour als bezorgd (Onderweg → Bezorgd)." in history
    assert "tracking_in_transit" not in history and "label_ready" not in history
