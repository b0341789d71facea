"""The rule book of a submission: what may still be returned, and what a request must hold.

The portal and the API both ask this module, and only translate its answer into their own
responses. Every rule that refuses says so with a ``Problem``: the field it concerns, a stable
code and a message in the caller's language. Fields are named as the API's body names them
(``lines.0.reason``, ``answers.1.answer``): indices count the chosen lines and the given
answers in the order the caller gave them; ``order_number`` concerns the whole order.

``check_submission`` applies every rule at once; the portal also applies the rules of one
step (``quantity_problems``, ``detail_problems``, ``answer_problems``,
``resolution_problems``) while the customer fills that step in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from domain import returnability
from domain.statuses import NON_RETURNABLE_REASONS
from extensions import db
from models import (
    APPROVED,
    COMPLETED,
    LABEL_CREATED,
    OPEN_STATUSES,
    Attachment,
    FormQuestion,
    Order,
    OrderLine,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    utcnow,
)

# Requests in these statuses claim their units: a second request cannot return them again.
CLAIMING_STATUSES = (*OPEN_STATUSES, APPROVED, LABEL_CREATED, COMPLETED)
MAX_TEXT = 1000
MAX_PHOTOS_PER_LINE = 5
# The languages a shop without a list of its own speaks.
DEFAULT_LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``field`` as the API names it, a stable ``code``, a translated message."""

    field: str
    code: str
    message: str


class SubmissionRefused(ValueError):
    """The submission breaks one or more rules; ``problems`` says which, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


@dataclass
class ChosenLine:
    """A line of the customer's submission: the order line, how many, why, and the photos.

    The portal names the reason by its id, the API by its code; either may be given.
    """

    order_line_id: int
    quantity: int
    reason_id: int | None = None
    comment: str = ""
    photo_ids: list[int] = field(default_factory=list)
    reason_code: str | None = None


@dataclass
class Answer:
    """The answer to one of the shop's questions: text, or a stored file for a file question."""

    question_id: int
    value: str = ""
    attachment_id: int | None = None


@dataclass
class Submission:
    """What the customer asks for, as an entry point read it, before any rule is applied."""

    lines: list[ChosenLine]
    resolution: str
    language: str
    exchange_note: str = ""
    answers: list[Answer] = field(default_factory=list)
    is_withdrawal: bool = False


@dataclass
class ValidSubmission:
    """A submission every rule accepts, in the form the request stores it."""

    lines: list[ChosenLine]
    resolution: str
    language: str
    exchange_note: str | None
    answers: dict
    answer_attachment_ids: list[int]
    is_withdrawal: bool


@dataclass(frozen=True)
class Claim:
    """A request of the order that holds units of a line, as its customer may read it."""

    request_id: int
    number: str
    status: str


@dataclass
class LineState:
    """One order line as the portal shows it: how many units may still go back, until when,
    and which of the order's requests hold the others."""

    line: OrderLine
    returnable: int
    window_closes_at: datetime | None
    window_closed: bool
    claims: tuple[Claim, ...] = ()
    not_returnable_because: str | None = None

    @property
    def selectable(self) -> bool:
        return self.returnable > 0 and not self.window_closed


# --- what is still returnable ------------------------------------------------------------------


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def claimed_quantities(order: Order) -> dict[int, int]:
    """``{order_line_id: units}`` already claimed by the order's open, approved or done requests."""
    rows = db.session.execute(
        select(ReturnRequestLine.order_line_id, func.sum(ReturnRequestLine.quantity))
        .join(ReturnRequest)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status.in_(CLAIMING_STATUSES))
        .group_by(ReturnRequestLine.order_line_id)
    )
    return {line_id: int(total or 0) for line_id, total in rows}


def claims_by_line(order: Order) -> dict[int, tuple[Claim, ...]]:
    """``{order_line_id: claims}``: the requests holding units of each line, oldest first."""
    rows = db.session.execute(
        select(
            ReturnRequestLine.order_line_id,
            ReturnRequest.id,
            ReturnRequest.number,
            ReturnRequest.status,
        )
        .join(ReturnRequest)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status.in_(CLAIMING_STATUSES))
        .order_by(ReturnRequest.id)
    )
    claims: dict[int, tuple[Claim, ...]] = {}
    for line_id, request_id, number, status in rows:
        claims[line_id] = (*claims.get(line_id, ()), Claim(request_id, number, status))
    return claims


def claiming_request_ids(order: Order) -> set[int]:
    """The ids of the order's requests that hold any of its units."""
    return {claim.request_id for claims in claims_by_line(order).values() for claim in claims}


def return_window_closes_at(order: Order, shop: Shop) -> datetime | None:
    """The end of the shop's return window, counted from delivery; ``None`` before delivery."""
    delivered = aware(order.delivered_at)
    if delivered is None:
        return None
    return delivered + timedelta(days=shop.return_window_days)


def line_states(order: Order, shop: Shop, now: datetime | None = None) -> list[LineState]:
    """Every line of the order with its returnable quantity, its return window (the shop's,
    or the line's own when a returnability rule gives it a shorter one) and why it may not
    go back at all."""
    now = now or utcnow()
    claimed = claimed_quantities(order)
    claims = claims_by_line(order)
    limits = returnability.line_limits(order, shop)
    shop_closes_at = return_window_closes_at(order, shop)
    delivered = order.delivered_at is not None
    states = []
    for line in order.lines:
        limit = limits.get(line.id)
        never = limit is not None and limit.never
        closes_at = shop_closes_at
        if limit is not None and limit.closes_at is not None and shop_closes_at is not None:
            closes_at = min(shop_closes_at, limit.closes_at)
        left = max(0, line.quantity - claimed.get(line.id, 0))
        states.append(
            LineState(
                line=line,
                returnable=left if delivered and not never else 0,
                window_closes_at=closes_at,
                window_closed=closes_at is not None and now > closes_at,
                claims=claims.get(line.id, ()),
                not_returnable_because=reason_words(limit.reason) if never and limit else None,
            )
        )
    return states


def reason_words(reason: str) -> str:
    """Why an item may not go back, in the reader's language."""
    return str(NON_RETURNABLE_REASONS.get(reason, NON_RETURNABLE_REASONS["not_returnable"]))


def withdrawable_quantities(order: Order) -> dict[int, int]:
    """``{order_line_id: units}`` a withdrawal may still cover: delivered or not, minus claims."""
    claimed = claimed_quantities(order)
    return {line.id: max(0, line.quantity - claimed.get(line.id, 0)) for line in order.lines}


def withdrawal_possible(order: Order, shop: Shop, now: datetime | None = None) -> bool:
    """Inside the withdrawal period: not yet delivered, or delivered at most N days ago."""
    now = now or utcnow()
    delivered = aware(order.delivered_at)
    if delivered is None:
        return True
    return now <= delivered + timedelta(days=shop.withdrawal_window_days)


def order_problem(order: Order, shop: Shop, *, is_withdrawal: bool) -> Problem | None:
    """Why nothing of the order can go back now (not delivered, period over), if so."""
    if is_withdrawal:
        if withdrawal_possible(order, shop):
            return None
        return Problem(
            "order_number",
            "withdrawal_period_ended",
            _("The withdrawal period for this order has ended."),
        )
    closes_at = return_window_closes_at(order, shop)
    if closes_at is None:
        return Problem("order_number", "not_delivered", _("This order has not been delivered yet."))
    if utcnow() > closes_at:
        return Problem(
            "order_number", "window_closed", _("The return period of this order has closed.")
        )
    return None


def available_quantities(order: Order, shop: Shop, *, is_withdrawal: bool) -> dict[int, int]:
    """``{order_line_id: units}`` this submission may still claim (none once the period is over)."""
    if order_problem(order, shop, is_withdrawal=is_withdrawal) is not None:
        return {line.id: 0 for line in order.lines}
    return withdrawable_quantities(order)


# --- the rules ---------------------------------------------------------------------------------


def quantity_problems(
    order: Order, shop: Shop, lines: list[ChosenLine], *, is_withdrawal: bool = False
) -> list[Problem]:
    """The order's lines, each once, at least one unit and no more than may still go back."""
    if not lines:
        return [Problem("lines", "no_lines", _("Please choose at least one item to return."))]
    problems = []
    if problem := order_problem(order, shop, is_withdrawal=is_withdrawal):
        problems.append(problem)
    available = available_quantities(order, shop, is_withdrawal=is_withdrawal)
    limits = returnability.line_limits(order, shop, is_withdrawal=is_withdrawal)
    seen: set[int] = set()
    for index, line in enumerate(lines):
        at = f"lines.{index}"
        problem = limit_problem(at, limits.get(line.order_line_id)) or line_quantity_problem(
            at, line, available, seen
        )
        if problem:
            problems.append(problem)
        seen.add(line.order_line_id)
    return problems


def limit_problem(at: str, limit: returnability.Limit | None) -> Problem | None:
    """The item may not go back (at all, or no longer within its own window)."""
    if limit is None or not limit.closed(utcnow()):
        return None
    if limit.never:
        return Problem(
            f"{at}.quantity",
            "not_returnable",
            _("This item cannot be returned: %(reason)s.", reason=reason_words(limit.reason)),
        )
    return Problem(
        f"{at}.quantity", "item_window_closed", _("The return period for this item has closed.")
    )


def line_quantity_problem(
    at: str, line: ChosenLine, available: dict[int, int], seen: set[int]
) -> Problem | None:
    if line.order_line_id not in available:
        return Problem(
            f"{at}.order_line_id", "unknown_line", _("This item is not part of the order.")
        )
    if line.order_line_id in seen:
        return Problem(f"{at}.order_line_id", "duplicate_line", _("Each item may be chosen once."))
    if line.quantity < 1:
        return Problem(
            f"{at}.quantity", "quantity_too_low", _("Please enter a quantity of at least 1.")
        )
    if available[line.order_line_id] == 0:
        return Problem(
            f"{at}.quantity", "not_returnable", _("This item can no longer be returned.")
        )
    if line.quantity > available[line.order_line_id]:
        return Problem(
            f"{at}.quantity",
            "quantity_too_high",
            _(
                "You can return at most %(count)d of this item.",
                count=available[line.order_line_id],
            ),
        )
    return None


def active_reasons(shop: Shop) -> list[ReturnReason]:
    """The reasons the shop offers, in the order of its form."""
    return list(
        db.session.scalars(
            select(ReturnReason)
            .where(ReturnReason.shop_id == shop.id, ReturnReason.active.is_(True))
            .order_by(ReturnReason.position, ReturnReason.id)
        )
    )


def chosen_reason(line: ChosenLine, reasons: list[ReturnReason]) -> ReturnReason | None:
    """The active reason the line names, by id or by code."""
    for reason in reasons:
        if reason.id == line.reason_id or (line.reason_code and reason.code == line.reason_code):
            return reason
    return None


def detail_problems(
    shop: Shop, lines: list[ChosenLine], *, is_withdrawal: bool = False
) -> list[Problem]:
    """Per line: one of the shop's reasons (a withdrawal needs none), and the comment and
    photos that reason asks for; photos are the shop's files, stored but not yet linked."""
    reasons = active_reasons(shop)
    own_photos = unlinked_attachments(shop, [pid for line in lines for pid in line.photo_ids])
    problems = []
    for index, line in enumerate(lines):
        at = f"lines.{index}"
        reason = chosen_reason(line, reasons)
        problems += reason_problems(at, line, reason, reasons, is_withdrawal=is_withdrawal)
        problems += comment_problems(at, line, reason)
        problems += photo_problems(at, line, reason, own_photos)
    return problems


def reason_problems(
    at: str,
    line: ChosenLine,
    reason: ReturnReason | None,
    reasons: list[ReturnReason],
    *,
    is_withdrawal: bool,
) -> list[Problem]:
    if reason is not None:
        return []
    if line.reason_id is not None or line.reason_code:
        message = _("The shop does not offer this reason. Please choose another one.")
        return [Problem(f"{at}.reason", "unknown_reason", message)]
    if reasons and not is_withdrawal:
        return [Problem(f"{at}.reason", "reason_required", _("Please choose a reason."))]
    return []


def comment_problems(at: str, line: ChosenLine, reason: ReturnReason | None) -> list[Problem]:
    comment = line.comment.strip()
    if len(comment) > MAX_TEXT:
        message = _("Please keep your comment under %(count)d characters.", count=MAX_TEXT)
        return [Problem(f"{at}.comment", "comment_too_long", message)]
    if reason is not None and reason.requires_comment and not comment:
        message = _("Please tell us more about this reason.")
        return [Problem(f"{at}.comment", "comment_required", message)]
    return []


def photo_problems(
    at: str, line: ChosenLine, reason: ReturnReason | None, own_photos: dict[int, Attachment]
) -> list[Problem]:
    if any(pid not in own_photos for pid in line.photo_ids):
        message = _("A photo could not be found. Please add it again.")
        return [Problem(f"{at}.photos", "unknown_photo", message)]
    if len(line.photo_ids) > MAX_PHOTOS_PER_LINE:
        message = _("At most %(count)d photos per item.", count=MAX_PHOTOS_PER_LINE)
        return [Problem(f"{at}.photos", "too_many_photos", message)]
    if reason is not None and reason.requires_photo and not line.photo_ids:
        message = _("Please add at least one photo for this reason.")
        return [Problem(f"{at}.photos", "photo_required", message)]
    return []


def unlinked_attachments(shop: Shop, ids: list[int]) -> dict[int, Attachment]:
    """The shop's stored files among ``ids`` that no request or message holds yet."""
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Attachment).where(
            Attachment.id.in_(ids),
            Attachment.shop_id == shop.id,
            Attachment.request_id.is_(None),
            Attachment.message_id.is_(None),
        )
    )
    return {attachment.id: attachment for attachment in rows}


def active_questions(shop: Shop) -> list[FormQuestion]:
    """The shop's questions, in the order of its form."""
    return list(
        db.session.scalars(
            select(FormQuestion)
            .where(FormQuestion.shop_id == shop.id, FormQuestion.active.is_(True))
            .order_by(FormQuestion.position, FormQuestion.id)
        )
    )


def question_choices(question: FormQuestion) -> list[str]:
    """A choice question's options: one per line (a semicolon also separates)."""
    return [c.strip() for c in re.split(r"[\n;]", question.choices or "") if c.strip()]


def answer_text(question: FormQuestion, answer: Answer) -> str:
    """The answer as stored: a choice that is not one of the options (or a yes/no that is
    neither) counts as no answer, as a form offering only the options would send none."""
    value = answer.value.strip()
    if question.kind == "choice" and value not in question_choices(question):
        return ""
    if question.kind == "yes_no" and value not in ("yes", "no"):
        return ""
    return value


def answer_problems(
    shop: Shop, answers: list[Answer], *, is_withdrawal: bool = False
) -> list[Problem]:
    """Each answer to an active question of the shop, once; required questions answered
    (a withdrawal asks none); a file question answered with one of the shop's stored files."""
    questions = {question.id: question for question in active_questions(shop)}
    files = unlinked_attachments(shop, [a.attachment_id for a in answers if a.attachment_id])
    problems = []
    answered: set[int] = set()
    for index, answer in enumerate(answers):
        at = f"answers.{index}"
        question = questions.get(answer.question_id)
        if question is None or answer.question_id in answered:
            message = _("This is not one of the shop's questions, or it was answered twice.")
            problems.append(Problem(f"{at}.question_id", "unknown_question", message))
            continue
        answered.add(answer.question_id)
        if problem := one_answer_problem(at, question, answer, files, is_withdrawal):
            problems.append(problem)
    if not is_withdrawal:
        problems += unanswered_problems(questions.values(), answered)
    return problems


def one_answer_problem(
    at: str,
    question: FormQuestion,
    answer: Answer,
    files: dict[int, Attachment],
    is_withdrawal: bool,
) -> Problem | None:
    required = question.required and not is_withdrawal
    if question.kind == "file":
        if answer.attachment_id is not None and answer.attachment_id not in files:
            message = _("The file could not be found. Please add it again.")
            return Problem(f"{at}.answer", "unknown_file", message)
        if answer.attachment_id is None and (required or answer.value.strip()):
            return Problem(f"{at}.answer", "file_required", _("Please add a file."))
        return None
    if len(answer.value.strip()) > MAX_TEXT:
        message = _("Please keep your answer under %(count)d characters.", count=MAX_TEXT)
        return Problem(f"{at}.answer", "answer_too_long", message)
    if required and not answer_text(question, answer):
        return Problem(f"{at}.answer", "answer_required", _("Please answer this question."))
    return None


def unanswered_problems(questions, answered: set[int]) -> list[Problem]:
    """Required questions no answer was given for at all (the API may leave them out)."""
    language = str(get_locale() or "en")
    return [
        Problem(
            "answers",
            "answer_required",
            _("Please answer the question “%(question)s”.", question=question.label(language)),
        )
        for question in questions
        if question.required and question.id not in answered
    ]


def resolution_problems(
    shop: Shop, resolution: str, exchange_note: str, *, is_withdrawal: bool = False
) -> list[Problem]:
    """A resolution the shop offers (a withdrawal is always refunded), and for an exchange a
    note saying what the customer wants instead."""
    note = exchange_note.strip()
    if is_withdrawal and resolution != "refund":
        return [Problem("resolution", "withdrawal_is_refunded", _("A withdrawal is refunded."))]
    if not is_withdrawal and resolution not in shop.resolution_list:
        message = _("Please choose what you would like instead.")
        return [Problem("resolution", "resolution_not_offered", message)]
    if len(note) > MAX_TEXT:
        message = _("Please keep your note under %(count)d characters.", count=MAX_TEXT)
        return [Problem("exchange_note", "exchange_note_too_long", message)]
    if resolution == "exchange" and not note:
        message = _("Please tell us which size or colour you would like.")
        return [Problem("exchange_note", "exchange_note_required", message)]
    return []


@dataclass(frozen=True)
class ExchangePick:
    """A variant the customer picked for an item in an exchange (its order line's options)."""

    order_line_id: int
    item: str
    variant: str


def exchange_pick_problems(
    options: dict[int, list[str]], picks: list[ExchangePick]
) -> list[Problem]:
    """Each pick is one of its order line's variants (``OrderLine.variant_options``)."""
    return [
        Problem(
            f"exchange-{pick.order_line_id}",
            "exchange_variant_unknown",
            _("Please choose one of the listed sizes or colours."),
        )
        for pick in picks
        if pick.variant not in options.get(pick.order_line_id, [])
    ]


def exchange_wish(picks: list[ExchangePick], note: str) -> str:
    """What the customer wants in exchange, in one line the shop reads: each picked variant
    ("Linnen blouse (M) → L"), then the customer's own words."""
    parts = [f"{pick.item} → {pick.variant}" for pick in picks]
    return "; ".join([*parts, note.strip()] if note.strip() else parts)


def offered_languages(shop: Shop) -> list[str]:
    return shop.language_list or list(DEFAULT_LANGUAGES)


def language_problems(shop: Shop, language: str) -> list[Problem]:
    if language in offered_languages(shop):
        return []
    message = _("The shop speaks %(languages)s.", languages=", ".join(offered_languages(shop)))
    return [Problem("language", "language_not_offered", message)]


# --- the whole submission ----------------------------------------------------------------------


def check_submission(shop: Shop, order: Order, submission: Submission) -> ValidSubmission:
    """Apply every rule; return the submission as it is stored, or raise every problem at once.

    The answers are stored for every active question with the question's label in the
    request's language (the customer's), whichever entry point the request came through, so
    staff read what the customer was asked.
    """
    withdrawal = submission.is_withdrawal
    problems = [
        *quantity_problems(order, shop, submission.lines, is_withdrawal=withdrawal),
        *detail_problems(shop, submission.lines, is_withdrawal=withdrawal),
        *answer_problems(shop, submission.answers, is_withdrawal=withdrawal),
        *resolution_problems(
            shop, submission.resolution, submission.exchange_note, is_withdrawal=withdrawal
        ),
        *language_problems(shop, submission.language),
    ]
    if problems:
        raise SubmissionRefused(problems)
    note = submission.exchange_note.strip()
    return ValidSubmission(
        lines=valid_lines(shop, submission.lines),
        resolution=submission.resolution,
        language=submission.language,
        exchange_note=(note or None) if submission.resolution == "exchange" else None,
        answers=stored_answers(shop, submission),
        answer_attachment_ids=[a.attachment_id for a in submission.answers if a.attachment_id],
        is_withdrawal=withdrawal,
    )


def valid_lines(shop: Shop, lines: list[ChosenLine]) -> list[ChosenLine]:
    """The lines with their reason named by id and their comment trimmed."""
    reasons = active_reasons(shop)
    valid = []
    for line in lines:
        reason = chosen_reason(line, reasons)
        valid.append(
            ChosenLine(
                order_line_id=line.order_line_id,
                quantity=line.quantity,
                reason_id=reason.id if reason else None,
                comment=line.comment.strip(),
                photo_ids=list(line.photo_ids),
                reason_code=reason.code if reason else None,
            )
        )
    return valid


def stored_answers(shop: Shop, submission: Submission) -> dict:
    """``{question_id: {"question", "kind", "value"}}``: every active question with its label
    in the request's language and the answer (a file's name); a withdrawal, which asks no
    questions, keeps only the answers given."""
    given = {answer.question_id: answer for answer in submission.answers}
    files = unlinked_attachments(shop, [a.attachment_id for a in given.values() if a.attachment_id])
    stored = {}
    for question in active_questions(shop):
        answer = given.get(question.id)
        if answer is None and submission.is_withdrawal:
            continue
        if answer is None:
            value = ""
        elif question.kind == "file":
            value = files[answer.attachment_id].original_name if answer.attachment_id else ""
        else:
            value = answer_text(question, answer)
        stored[str(question.id)] = {
            "question": question.label(submission.language),
            "kind": question.kind,
            "value": value,
        }
    return stored
