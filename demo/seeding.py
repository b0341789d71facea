"""Demo data: two shops, their staff, orders and return requests in every status.

``seed()`` is what ``flask demo seed`` (and so ``make run``) calls. It only adds what is
missing, so running it again changes nothing. Requests are created with the fields a portal
submission sets and then moved through workflow.py as the demo users, so the demo shows what
the product really does, audit trail and queued emails included. Customers live at
``@example.nl`` / ``@example.be``: the emails the workflow queues never reach a real person.

A fixed random seed per shop makes the data the same on every machine; dates are relative to
the moment of seeding (orders delivered over the last ~90 days, requests over the last weeks).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import exists, select

from demo.data import (
    ADDRESSES,
    AGE_DAYS,
    ASK_PHOTO,
    ASK_PREFERENCE,
    CANCEL_REASONS,
    COMMENTS,
    CUSTOMER_REPLY,
    FIRST_NAMES,
    FREE_EXCHANGE,
    FREQUENT_RETURNER,
    HIGH_VALUE,
    INTERNAL_NOTE,
    LAST_NAMES,
    ORDERS_PER_SHOP,
    PASSWORD,
    PLANS,
    PORTAL_ORDERS_SHOWN,
    REASON_WEIGHTS,
    REASONS,
    REJECT_REASON,
    SHOPS,
    UNDELIVERED_ORDERS,
    USERS,
    ShopSpec,
)
from domain import audit, submission, tenancy, workflow
from extensions import db
from models import (
    NEW,
    ON_HOLD,
    AuditEvent,
    FormQuestion,
    Membership,
    Message,
    Notice,
    NoticeRule,
    Order,
    OrderLine,
    Return,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    ReviewStage,
    Shop,
    User,
    utcnow,
)
from services import label_jobs, labels, storage


@dataclass
class Customer:
    name: str
    email: str
    street: str
    postcode: str
    city: str
    country: str
    language: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


def make_customers(rng: random.Random, count: int) -> list[Customer]:
    """Dutch (two in three) and Belgian customers, some of whom prefer English."""
    customers, emails = [], set()
    for _ in range(count):
        country = "NL" if rng.random() < 0.67 else "BE"
        first, last = rng.choice(FIRST_NAMES[country]), rng.choice(LAST_NAMES[country])
        local = f"{first}.{last}".lower().replace(" ", "")
        email = f"{local}@example.{country.lower()}"
        suffix = 2
        while email in emails:
            email = f"{local}{suffix}@example.{country.lower()}"
            suffix += 1
        emails.add(email)
        postcode, city, street = rng.choice(ADDRESSES[country])
        customers.append(
            Customer(
                name=f"{first} {last}",
                email=email,
                street=f"{street} {rng.randint(1, 240)}",
                postcode=postcode,
                city=city,
                country=country,
                language="en" if rng.random() < 0.15 else "nl",
            )
        )
    return customers


def seed() -> str:
    """Load the demo (once) and return what to print: what changed, logins, orders to try."""
    now = utcnow()
    created_users = ensure_users()
    staff = {
        spec.email: db.session.scalar(select(User).where(User.email == spec.email))
        for spec in USERS
    }
    created_shops = []
    for spec in SHOPS:
        if db.session.scalar(select(exists().where(Shop.slug == spec.slug))):
            continue
        created_shops.append(seed_shop(spec, staff, now))
    ensure_memberships()
    db.session.commit()
    create_pending_labels()
    if not created_users and not created_shops:
        headline = "Demo data already present; nothing changed."
    else:
        headline = "Demo data loaded: " + (
            ", ".join(created_shops) if created_shops else f"{len(created_users)} users"
        )
    return "\n".join([headline, "", *login_lines(), "", *portal_lines(now)])


def create_pending_labels() -> None:
    """Make the demo returns' label PDFs, as the label job does after a customer's click."""
    pending = db.session.scalars(select(Return.id).where(Return.label_status == "pending")).all()
    for return_id in pending:
        label_jobs.start_label_job(return_id)


def ensure_users() -> list[User]:
    """The four demo logins; they share one password, so it is hashed (slowly) only once."""
    created: list[User] = []
    for spec in USERS:
        if db.session.scalar(select(exists().where(User.email == spec.email))):
            continue
        user = User(email=spec.email, name=spec.name, is_support=spec.is_support)
        if created:
            user.password_hash = created[0].password_hash
        else:
            user.set_password(PASSWORD)
        db.session.add(user)
        created.append(user)
    db.session.flush()
    return created


def ensure_memberships() -> None:
    for spec in USERS:
        if spec.shop_slug is None:
            continue
        user = db.session.scalar(select(User).where(User.email == spec.email))
        shop = db.session.scalar(select(Shop).where(Shop.slug == spec.shop_slug))
        if tenancy.role_in(user, shop.id) is None:
            db.session.add(Membership(user=user, shop=shop, role=spec.role))
    db.session.flush()


@dataclass
class Team:
    """Who does what in one shop's demo: its agent and its lead (admin, or support)."""

    agent: User
    lead: User

    def __getitem__(self, who: str) -> User | audit.Actor:
        if who == "customer":
            return audit.Actor(label="customer")
        return self.agent if who == "agent" else self.lead


def team_of(spec: ShopSpec, staff: dict[str, User]) -> Team:
    if spec.slug == "demo":
        return Team(agent=staff["agent@example.com"], lead=staff["admin@example.com"])
    return Team(agent=staff["agent@fashion.example.com"], lead=staff["support@example.com"])


def seed_shop(spec: ShopSpec, staff: dict[str, User], now: datetime) -> str:
    """One shop with its form, orders and requests; returns a one-line summary."""
    rng = random.Random(f"returndesk-demo-{spec.slug}")
    shop = create_shop(spec)
    reasons = create_reasons(shop)
    questions = create_questions(shop)
    stage = create_stage(shop)
    rule = create_free_exchange_rule(shop)
    orders = create_orders(shop, spec, rng, now)
    requests = create_requests(
        shop, spec, team_of(spec, staff), orders, reasons, questions, stage, rule, rng, now
    )
    return f"{shop.name} ({len(orders)} orders, {len(requests)} requests)"


def logo_path(slug: str) -> str:
    """The shop's word mark, a static file of this site (``static/demo/``), so the demo
    needs no network and its logo is an address the settings form accepts as it stands."""
    return f"/static/demo/logo-{slug}.svg"


def create_shop(spec: ShopSpec) -> Shop:
    name, street, postcode, city = spec.address
    shop = Shop(
        slug=spec.slug,
        name=spec.name,
        logo_url=logo_path(spec.slug),
        brand_color=spec.brand_color,
        languages="nl,en",
        default_language="nl",
        return_window_days=30,
        free_shipping_resolutions=spec.free_shipping_resolutions,
        return_fee_cents=spec.return_fee_cents,
        notification_email=f"retouren@{spec.email_domain}",
        support_email=f"klantenservice@{spec.email_domain}",
        privacy_url=f"https://www.{spec.email_domain}/privacy",
        return_address_name=name,
        return_address_street=street,
        return_address_postcode=postcode,
        return_address_city=city,
        return_address_country="NL",
    )
    db.session.add(shop)
    db.session.flush()
    return shop


def create_reasons(shop: Shop) -> list[ReturnReason]:
    reasons = [
        ReturnReason(
            shop=shop,
            code=code,
            label_nl=label_nl,
            label_en=label_en,
            requires_photo=photo,
            position=position,
        )
        for position, (code, label_nl, label_en, photo) in enumerate(REASONS)
    ]
    db.session.add_all(reasons)
    return reasons


def create_questions(shop: Shop) -> list[FormQuestion]:
    if shop.slug == "fashion":
        first = ("Zitten de labels er nog aan?", "Are the tags still attached?")
    else:
        first = ("Is de verpakking nog ongeopend?", "Is the packaging still unopened?")
    questions = [
        FormQuestion(shop=shop, kind="yes_no", label_nl=first[0], label_en=first[1], required=True),
        FormQuestion(
            shop=shop,
            kind="text",
            label_nl="Wil je ons nog iets laten weten?",
            label_en="Is there anything else you would like us to know?",
            position=1,
        ),
    ]
    db.session.add_all(questions)
    db.session.flush()
    return questions


def create_stage(shop: Shop) -> ReviewStage:
    stage = ReviewStage(shop=shop, name_nl="Foto's opgevraagd", name_en="Photos requested")
    db.session.add(stage)
    db.session.flush()
    return stage


def create_free_exchange_rule(shop: Shop) -> NoticeRule:
    """The founding document's example notice, as the rule that raises it."""
    rule = NoticeRule(
        shop_id=shop.id,
        name="Customer chose a free exchange",
        conditions=[{"kind": "free_exchange"}],
        severity="info",
        message_nl=FREE_EXCHANGE[0],
        message_en=FREE_EXCHANGE[1],
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def create_orders(shop: Shop, spec: ShopSpec, rng: random.Random, now: datetime) -> list[Order]:
    """~200 orders of 1–4 lines: most delivered over the last 90 days, a few still underway."""
    customers = make_customers(rng, 130)
    delivered = sorted(rng.uniform(0.2, 90) for _ in range(ORDERS_PER_SHOP - UNDELIVERED_ORDERS))
    moments = [
        (now - timedelta(days=d + rng.uniform(1, 3)), now - timedelta(days=d)) for d in delivered
    ]
    moments += [
        (now - timedelta(days=rng.uniform(0.1, 3)), None) for _ in range(UNDELIVERED_ORDERS)
    ]
    moments.sort(key=lambda moment: moment[0])
    orders = []
    for number, (ordered_at, delivered_at) in enumerate(moments, start=spec.first_order):
        customer = rng.choice(customers)
        order = Order(
            shop=shop,
            number=f"{spec.order_prefix}{number}",
            customer_name=customer.name,
            customer_email=customer.email,
            customer_street=customer.street,
            customer_postcode=customer.postcode,
            customer_city=customer.city,
            customer_country=customer.country,
            customer_language=customer.language,
            ordered_at=ordered_at,
            delivered_at=delivered_at,
            created_at=ordered_at,
        )
        order.lines = order_lines(spec, rng)
        orders.append(order)
    db.session.add_all(orders)
    db.session.flush()
    return orders


def order_lines(spec: ShopSpec, rng: random.Random) -> list[OrderLine]:
    count = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
    lines = []
    for product in rng.sample(spec.products, count):
        index = rng.randrange(len(product.variants)) if product.variants else 0
        price = product.price_cents + index * product.step_cents
        quantity = 2 if rng.random() < 0.12 else 1
        discount = round(price * quantity * 0.1) if rng.random() < 0.1 else 0
        lines.append(
            OrderLine(
                sku=f"{product.sku}-{index + 1:02d}",
                product_name=product.name,
                variant=product.variants[index] if product.variants else None,
                quantity=quantity,
                unit_price_cents=price,
                discount_cents=discount,
            )
        )
    return lines


def create_requests(
    shop: Shop,
    spec: ShopSpec,
    team: Team,
    orders: list[Order],
    reasons: list[ReturnReason],
    questions: list[FormQuestion],
    stage: ReviewStage,
    rule: NoticeRule,
    rng: random.Random,
    now: datetime,
) -> list[ReturnRequest]:
    """Submit the requests in time order (numbers grow with time), then play their plans."""
    planned = []
    for _status, count, steps in PLANS:
        low, high = AGE_DAYS[_status]
        planned += [(now - timedelta(days=rng.uniform(low, high)), steps) for _ in range(count)]
    planned.sort(key=lambda plan: plan[0])
    delivered = sorted((o for o in orders if o.delivered_at), key=lambda o: o.delivered_at)
    free = delivered[:-PORTAL_ORDERS_SHOWN]  # the latest stay untouched, to try the portal with
    photo = demo_photo(spec.brand_color)
    requests = []
    for created_at, steps in planned:
        needs_two_lines = any(op == "reject_line" for op, _who in steps)
        order = pick_order(free, created_at, needs_two_lines)
        free.remove(order)
        request = submit(
            shop, spec, order, reasons, questions, created_at, rng, photo, needs_two_lines
        )
        for op, who in steps:
            play(request, op, team[who], rng, stage)
        add_notices(request, rule, team, rng, created_at)
        last_message_at = add_conversation(request, team, rng, created_at, now)
        backdate(request, rng, created_at, now, last_message_at)
        requests.append(request)
    return requests


def pick_order(free: list[Order], created_at: datetime, needs_two_lines: bool) -> Order:
    """A delivered order the customer could have returned from at ``created_at``."""
    candidates = [
        order
        for order in free
        if order.delivered_at < created_at - timedelta(hours=6)
        and (not needs_two_lines or len(order.lines) >= 2)
    ]
    return max(candidates, key=lambda order: order.delivered_at)


def submit(
    shop: Shop,
    spec: ShopSpec,
    order: Order,
    reasons: list[ReturnReason],
    questions: list[FormQuestion],
    created_at: datetime,
    rng: random.Random,
    photo: bytes,
    all_lines: bool,
) -> ReturnRequest:
    """A request as the portal's submission creates it, with the "submitted" audit event."""
    language = order.customer_language
    resolution = rng.choices(list(spec.resolutions), weights=list(spec.resolutions.values()))[0]
    count = len(order.lines) if all_lines else rng.randint(1, len(order.lines))
    chosen = rng.sample(order.lines, count)
    quantities = {line.id: rng.randint(1, line.quantity) for line in chosen}
    picked = [
        submission.ChosenLine(order_line_id=line.id, quantity=quantities[line.id])
        for line in chosen
    ]
    request = submission.new_request(shop, order, picked, resolution, language, None)
    if resolution == "exchange":
        request.exchange_note = pick(rng.choice(spec.exchange_notes), language)
    request.answers = answers_to(questions, language, rng)
    request.created_at = created_at
    db.session.add(request)
    db.session.flush()
    for order_line in sorted(chosen, key=lambda line: line.id):
        add_line(request, order_line, quantities[order_line.id], reasons, rng, photo)
    db.session.add(
        AuditEvent(
            shop_id=shop.id,
            request_id=request.id,
            actor_label=f"{order.customer_name} <{order.customer_email}>",
            action="submitted",
            to_status=NEW,
            created_at=created_at,
        )
    )
    db.session.flush()
    return request


def add_line(
    request: ReturnRequest,
    order_line: OrderLine,
    quantity: int,
    reasons: list[ReturnReason],
    rng: random.Random,
    photo: bytes,
) -> None:
    reason = rng.choices(reasons, weights=REASON_WEIGHTS)[0]
    comment = COMMENTS[reason.code] if reason.requires_photo or rng.random() < 0.4 else None
    line = ReturnRequestLine(
        request_id=request.id,
        order_line_id=order_line.id,
        quantity=quantity,
        reason_id=reason.id,
        comment=pick(comment, request.language) if comment else None,
    )
    request.lines.append(line)
    db.session.flush()
    if reason.requires_photo:
        storage.save(
            photo,
            f"IMG_{request.created_at:%Y%m%d}_{rng.randint(1000, 2359)}.jpg",
            "image/jpeg",
            request.shop_id,
            request_id=request.id,
            request_line_id=line.id,
        )


def answers_to(questions: list[FormQuestion], language: str, rng: random.Random) -> dict:
    """Answers in the shape the portal stores: question in the customer's language, value."""
    values = {
        "yes_no": rng.choice(("yes", "yes", "no")),
        "text": pick(("Bedankt voor de snelle service!", "Thanks for the quick service!"), language)
        if rng.random() < 0.25
        else "",
    }
    return {
        str(q.id): {"question": q.label(language), "kind": q.kind, "value": values[q.kind]}
        for q in questions
    }


def pick(texts: tuple[str, str], language: str) -> str:
    """The Dutch or the English of a (nl, en) pair."""
    return texts[0] if language == "nl" else texts[1]


def play(
    request: ReturnRequest,
    op: str,
    who: User | audit.Actor,
    rng: random.Random,
    stage: ReviewStage,
) -> None:
    """Do one step of a plan through workflow.py, as a member of staff would."""
    language = request.language
    steps = {
        "concept": lambda: workflow.set_concept(request, who),
        "hold": lambda: workflow.hold(request, who),
        "release": lambda: workflow.release(request, who),
        "stage": lambda: workflow.set_stage(request, who, stage),
        "reject_line": lambda: workflow.decide_line(
            request, who, request.lines[-1], approved=False, reason=pick(REJECT_REASON, language)
        ),
        "approve": lambda: workflow.approve(request, who),
        "approve_keep": lambda: workflow.approve(request, who, keep_items=True),
        "cancel": lambda: workflow.cancel(request, who, pick(rng.choice(CANCEL_REASONS), language)),
        "label": lambda: labels.create_return(request, "own", audit.Actor(label="customer")),
        "complete": lambda: complete(request, who),
        "expire": lambda: expire(request),
    }
    if op not in steps:
        raise ValueError(f"unknown demo step {op!r}")
    steps[op]()


def expire(request: ReturnRequest) -> None:
    """The customer never made the label: its ship-by date lies behind it, and the sweep
    expires it."""
    request.ship_by_at = utcnow() - timedelta(days=1)
    workflow.expire_overdue()


def complete(request: ReturnRequest, who: User | audit.Actor) -> None:
    """Settle the request: kept items at once, a shipment once it is received."""
    if request.keep_items:
        workflow.complete(request, who)
    else:
        receive_and_resolve(request, who)


def receive_and_resolve(request: ReturnRequest, who: User) -> None:
    """The parcel travels, arrives in good order and is settled as the customer asked."""
    return_ = workflow.active_return(request)
    workflow.mark_in_transit(return_, audit.Actor(label="carrier"))
    workflow.mark_delivered(return_, audit.Actor(label="carrier"))
    approved = [line for line in request.lines if line.decision == "approved"]
    workflow.receive(return_, who, {line.id: ("ok", line.quantity) for line in approved})
    workflow.resolve(return_, who, request.resolution)


def add_notices(
    request: ReturnRequest, rule: NoticeRule, team: Team, rng: random.Random, created_at: datetime
) -> None:
    """The founding example on free exchanges, and a few notices support added by hand."""
    notices = []
    if request.resolution == "exchange" and request.free_shipping:
        notices.append(
            Notice(
                rule_id=rule.id, severity="info", text_nl=FREE_EXCHANGE[0], text_en=FREE_EXCHANGE[1]
            )
        )
    if request.total_cents > 15000:
        notices.append(
            Notice(
                author_id=team.lead.id,
                severity="warning",
                text_nl=HIGH_VALUE[0],
                text_en=HIGH_VALUE[1],
            )
        )
    if rng.random() < 0.08:
        notices.append(
            Notice(
                author_id=team.lead.id,
                severity="danger",
                text_nl=FREQUENT_RETURNER[0],
                text_en=FREQUENT_RETURNER[1],
            )
        )
    for notice in notices:
        notice.request_id = request.id
        notice.created_at = created_at
        db.session.add(notice)
    request.notice_count = len(notices)


def add_conversation(
    request: ReturnRequest, team: Team, rng: random.Random, created_at: datetime, now: datetime
) -> datetime | None:
    """Some threads with the customer: a question, sometimes answered, sometimes a note.

    Returns when the last message was written, if any.
    """
    staged = request.stage_id is not None
    if not staged and rng.random() > 0.2:
        return None
    first = request.customer_name.split()[0]
    asked_at = min(created_at + timedelta(hours=rng.uniform(2, 20)), now - timedelta(hours=1))
    question = ASK_PHOTO if staged else ASK_PREFERENCE
    add_message(
        request,
        "outbound",
        team.agent,
        pick(question, request.language).format(first=first),
        asked_at,
    )
    request.last_outbound_at = asked_at
    if not staged or rng.random() < 0.5:
        replied_at = min(
            asked_at + timedelta(hours=rng.uniform(1, 48)), now - timedelta(minutes=20)
        )
        add_message(
            request,
            "inbound",
            None,
            pick(CUSTOMER_REPLY, request.language).format(first=first),
            replied_at,
        )
        request.last_inbound_at = replied_at
    if rng.random() < 0.3:
        add_message(request, "internal", team.lead, INTERNAL_NOTE, asked_at + timedelta(minutes=5))
    return max(asked_at, request.last_inbound_at or asked_at)


def add_message(
    request: ReturnRequest, direction: str, author: User | None, body: str, at: datetime
) -> None:
    db.session.add(
        Message(
            request_id=request.id,
            direction=direction,
            author_id=author.id if author else None,
            body=body,
            created_at=at,
        )
    )


def backdate(
    request: ReturnRequest,
    rng: random.Random,
    created_at: datetime,
    now: datetime,
    last_message_at: datetime | None,
) -> None:
    """Spread the request's audit events between its submission and now, like real work.

    workflow.py stamps everything "now"; a demo reads better with a history. A current hold
    keeps its real moment, since ``held_since`` says the same.
    """
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)
    ).all()
    later = events[1:-1] if request.status == ON_HOLD else events[1:]
    gaps = [timedelta(hours=rng.uniform(1, 40)) for _ in later]
    room = now - timedelta(minutes=30) - created_at
    scale = min(1.0, room / sum(gaps, timedelta()) if gaps else 1.0)
    moment = created_at
    for event, gap in zip(later, gaps, strict=True):
        moment += gap * scale
        event.created_at = moment
        if event.action in ("approve", "approve_keep", "cancel"):
            request.decided_at = moment
        elif event.action == "label_created":
            request.returns[-1].created_at = moment
        elif event.action == "complete" and request.returns:
            request.returns[-1].resolved_at = moment
    request.updated_at = max(moment, last_message_at or moment)


def demo_photo(colour: str) -> bytes:
    """A small JPEG standing in for the customer's photo of a damaged item."""
    image = Image.new("RGB", (320, 240), "#e9e4dc")
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 50, 260, 190), fill=colour)
    draw.line((90, 60, 150, 130, 130, 180), fill="#1b1b1b", width=5)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


# --- what seed() prints ----------------------------------------------------------------------


def login_lines() -> list[str]:
    lines = [f'Log in at /login with password "{PASSWORD}":']
    for spec in USERS:
        user = db.session.scalar(select(User).where(User.email == spec.email))
        if user is None:
            continue
        if user.is_support:
            role = "platform support, every shop"
        else:
            role = ", ".join(f"{m.role} of {m.shop.name} ({m.shop.slug})" for m in user.memberships)
        lines.append(f"  {spec.email:<27} {role}")
    return lines


def portal_lines(now: datetime) -> list[str]:
    lines = []
    for spec in SHOPS:
        shop = db.session.scalar(select(Shop).where(Shop.slug == spec.slug))
        if shop is None:
            continue
        lines.append(f"Try the return portal at /returns/{shop.slug}/ with a delivered order:")
        for order in returnable_orders(shop, now):
            lines.append(f"  order {order.number}  email {order.customer_email}")
    return lines


def returnable_orders(shop: Shop, now: datetime, limit: int = PORTAL_ORDERS_SHOWN) -> list[Order]:
    """Recently delivered orders, well inside the return window, with no request yet."""
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.shop_id == shop.id,
                Order.delivered_at.is_not(None),
                Order.delivered_at > now - timedelta(days=shop.return_window_days - 2),
                Order.delivered_at <= now,
                ~exists().where(ReturnRequest.order_id == Order.id),
            )
            .order_by(Order.delivered_at.desc(), Order.id)
            .limit(limit)
        )
    )
