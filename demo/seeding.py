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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from PIL import Image, ImageDraw
from sqlalchemy import exists, select

from domain import submission, workflow
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

PASSWORD = "demo"
ORDERS_PER_SHOP = 200
UNDELIVERED_ORDERS = 12
PORTAL_ORDERS_SHOWN = 3

# --- who logs in --------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSpec:
    email: str
    name: str
    shop_slug: str | None = None
    role: str | None = None
    is_support: bool = False


USERS = (
    UserSpec("support@example.com", "Ruben Smit", is_support=True),
    UserSpec("admin@example.com", "Anouk de Boer", "demo", "admin"),
    UserSpec("agent@example.com", "Daan Visser", "demo", "agent"),
    UserSpec("agent@fashion.example.com", "Fleur Mulder", "fashion", "agent"),
)

# --- the shops and what they sell ---------------------------------------------------------


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    variants: tuple[str, ...] = ()
    step_cents: int = 0  # bigger variants cost this much more each


def clothing(sizes: str, colours: str) -> tuple[str, ...]:
    return tuple(f"Maat {s} / {c}" for c in colours.split(",") for s in sizes.split(","))


@dataclass(frozen=True)
class ShopSpec:
    slug: str
    name: str
    brand_color: str
    order_prefix: str
    first_order: int
    products: tuple[Product, ...]
    resolutions: dict[str, int]  # resolution -> weight of customers choosing it
    free_shipping_resolutions: str
    return_fee_cents: int
    address: tuple[str, str, str, str]  # name, street, postcode, city
    email_domain: str
    exchange_notes: tuple[tuple[str, str], ...] = field(default=())


SHOPS = (
    ShopSpec(
        slug="demo",
        name="Bakker Wonen",
        brand_color="#2f6b4f",
        order_prefix="BW-",
        first_order=24001,
        products=(
            Product(
                "BW-DEK",
                "Linnen dekbedovertrek",
                8995,
                ("140 x 200 cm / Zand", "200 x 220 cm / Zand", "240 x 220 cm / Salie"),
                2000,
            ),
            Product(
                "BW-LAK",
                "Katoenen hoeslaken",
                3495,
                ("90 x 200 cm", "140 x 200 cm", "180 x 200 cm"),
                500,
            ),
            Product("BW-PLD", "Wollen plaid", 6995, ("Oker", "Grijs", "Terracotta")),
            Product("BW-MOK", "Keramische mok", 1295, ("Wit", "Zeegroen", "Zwart")),
            Product("BW-KRS", "Geurkaars Vijgenblad", 2450, ("200 g", "400 g"), 1000),
            Product(
                "BW-HDK",
                "Badhanddoek wafelstof",
                1995,
                ("50 x 100 cm / Wit", "70 x 140 cm / Wit", "70 x 140 cm / Mos"),
                500,
            ),
            Product("BW-MND", "Rotan mand", 3995, ("S", "M", "L"), 1000),
            Product("BW-KAR", "Glazen karaf", 2995, ("1 liter",)),
            Product(
                "BW-KUS", "Velvet sierkussen", 2795, ("45 x 45 cm / Roest", "45 x 45 cm / Oceaan")
            ),
            Product("BW-LMP", "Keramische tafellamp", 11900, ("Crème", "Zwart")),
            Product("BW-SNP", "Eiken snijplank", 3450, ("Klein", "Groot"), 1500),
        ),
        resolutions={"refund": 70, "exchange": 15, "store_credit": 15},
        free_shipping_resolutions="exchange",
        return_fee_cents=595,
        address=("Bakker Wonen Retouren", "Havenweg 12", "3542 AD", "Utrecht"),
        email_domain="bakkerwonen.example.com",
        exchange_notes=(
            ("Graag in de kleur Salie.", "In sage green, please."),
            ("Graag een maat groter.", "One size bigger, please."),
        ),
    ),
    ShopSpec(
        slug="fashion",
        name="Mode van Dijk",
        brand_color="#8a3b5c",
        order_prefix="MVD-",
        first_order=58001,
        products=(
            Product("MVD-BLS", "Linnen blouse", 5995, clothing("XS,S,M,L,XL", "Wit,Zwart")),
            Product("MVD-TRU", "Merino wollen trui", 8995, clothing("S,M,L,XL", "Camel,Navy")),
            Product(
                "MVD-JNS",
                "Slim fit jeans",
                7995,
                clothing("W29/L32,W31/L32,W33/L32,W34/L34", "Indigo"),
            ),
            Product("MVD-SNK", "Leren sneakers", 11995, clothing("38,39,40,41,42,43,44", "Wit")),
            Product("MVD-JRK", "Zomerjurk met bloemenprint", 6995, clothing("XS,S,M,L", "Blauw")),
            Product("MVD-RGN", "Regenjas", 12995, clothing("S,M,L,XL", "Olijf,Zwart")),
            Product(
                "MVD-TSH", "Biologisch katoenen T-shirt", 2495, clothing("S,M,L,XL", "Wit,Grijs")
            ),
            Product("MVD-CHN", "Chino", 6995, clothing("30,32,34,36", "Zand,Navy")),
            Product("MVD-SJL", "Wollen sjaal", 3995, ("Oker", "Antraciet", "Bordeaux")),
            Product("MVD-RIM", "Leren riem", 4495, ("85 cm", "90 cm", "95 cm", "100 cm")),
        ),
        resolutions={"refund": 55, "exchange": 35, "store_credit": 10},
        free_shipping_resolutions="exchange,store_credit",
        return_fee_cents=495,
        address=("Mode van Dijk retourafdeling", "Industrieweg 48", "5145 PW", "Waalwijk"),
        email_domain="modevandijk.example.com",
        exchange_notes=(
            ("Graag een maat kleiner.", "One size smaller, please."),
            ("Graag een maat groter.", "One size bigger, please."),
            ("Liever in het zwart.", "In black instead, please."),
        ),
    ),
)

REASONS = (
    ("too_small", "Te klein", "Too small", False),
    ("too_big", "Te groot", "Too big", False),
    ("not_as_expected", "Niet zoals verwacht", "Not as expected", False),
    ("damaged", "Beschadigd", "Damaged", True),
    ("wrong_item", "Verkeerd artikel ontvangen", "Wrong item received", True),
    ("changed_mind", "Toch niet nodig", "Changed my mind", False),
)
REASON_WEIGHTS = (24, 20, 22, 8, 6, 20)
COMMENTS = {
    "too_small": ("Valt kleiner dan verwacht.", "Runs smaller than expected."),
    "too_big": ("Groter dan het op de foto leek.", "Bigger than it looked in the photo."),
    "not_as_expected": (
        "De kleur is anders dan op de website.",
        "The colour differs from the website.",
    ),
    "damaged": ("Kapot aangekomen, zie de foto.", "Arrived broken, see the photo."),
    "wrong_item": (
        "Ik kreeg een andere kleur dan ik bestelde.",
        "I got a different colour than I ordered.",
    ),
    "changed_mind": ("Past toch niet bij de rest.", "Does not go with the rest after all."),
}

# --- the customers --------------------------------------------------------------------------

FIRST_NAMES = {
    "NL": [
        "Emma",
        "Sophie",
        "Julia",
        "Lotte",
        "Sanne",
        "Fleur",
        "Noor",
        "Eva",
        "Anna",
        "Lisa",
        "Femke",
        "Iris",
        "Daan",
        "Sem",
        "Lucas",
        "Bram",
        "Thijs",
        "Jesse",
        "Lars",
        "Milan",
        "Tim",
        "Maarten",
        "Joost",
        "Sven",
    ],
    "BE": [
        "Lien",
        "Elke",
        "Jolien",
        "Louise",
        "Marie",
        "Lore",
        "Ine",
        "Hanne",
        "Wout",
        "Pieter",
        "Arne",
        "Jens",
        "Kobe",
        "Seppe",
        "Stijn",
        "Jef",
    ],
}
LAST_NAMES = {
    "NL": [
        "de Vries",
        "Jansen",
        "van den Berg",
        "Bakker",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "de Graaf",
        "Bos",
        "Vos",
        "Hendriks",
        "van Leeuwen",
        "Dekker",
        "Brouwer",
        "de Wit",
        "Dijkstra",
        "Kok",
        "Verhoeven",
    ],
    "BE": [
        "Peeters",
        "Janssens",
        "Maes",
        "Jacobs",
        "Mertens",
        "Willems",
        "Claes",
        "Goossens",
        "Wouters",
        "De Smet",
        "Vermeulen",
        "Van Damme",
        "De Backer",
        "Lambrechts",
    ],
}
ADDRESSES = {
    "NL": (
        ("1016 GV", "Amsterdam", "Prinsengracht"),
        ("1072 AB", "Amsterdam", "Ferdinand Bolstraat"),
        ("3511 LN", "Utrecht", "Oudegracht"),
        ("3581 KL", "Utrecht", "Biltstraat"),
        ("2514 EK", "Den Haag", "Lange Voorhout"),
        ("3011 AD", "Rotterdam", "Hoogstraat"),
        ("3039 KE", "Rotterdam", "Bergweg"),
        ("9711 LM", "Groningen", "Oude Ebbingestraat"),
        ("5611 AZ", "Eindhoven", "Stratumseind"),
        ("2311 EZ", "Leiden", "Breestraat"),
        ("8011 NB", "Zwolle", "Diezerstraat"),
        ("4811 XE", "Breda", "Ginnekenweg"),
        ("6211 CJ", "Maastricht", "Grote Staat"),
        ("2011 HW", "Haarlem", "Zijlstraat"),
    ),
    "BE": (
        ("2000", "Antwerpen", "Meir"),
        ("2018", "Antwerpen", "Belgiëlei"),
        ("9000", "Gent", "Veldstraat"),
        ("1000", "Brussel", "Kartuizersstraat"),
        ("3000", "Leuven", "Bondgenotenlaan"),
        ("8000", "Brugge", "Steenstraat"),
        ("3500", "Hasselt", "Demerstraat"),
        ("2800", "Mechelen", "Bruul"),
    ),
}


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


# --- what happens to the requests -----------------------------------------------------------

# Each plan is a list of (operation, who) steps done in workflow.py after the submission;
# "agent" is the shop's agent, "lead" its admin (support for the shop without one).
# The counts give ~60 requests per shop over every status.
PLANS: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...] = (
    # (final status, how many, steps)
    ("completed", 6, (("approve", "agent"), ("label", "customer"), ("complete", "lead"))),
    ("completed", 2, (("approve_keep", "lead"), ("complete", "lead"))),
    ("label_created", 5, (("approve", "agent"), ("label", "customer"))),
    ("label_created", 3, (("concept", "agent"), ("approve", "lead"), ("label", "customer"))),
    ("cancelled", 3, (("cancel", "agent"),)),
    ("cancelled", 2, (("concept", "agent"), ("cancel", "lead"))),
    ("cancelled", 1, (("hold", "agent"), ("cancel", "agent"))),
    ("cancelled", 1, (("approve", "agent"), ("cancel", "lead"))),
    ("approved", 3, (("reject_line", "agent"), ("approve", "agent"))),
    ("approved", 2, (("concept", "agent"), ("approve", "lead"))),
    ("approved", 1, (("hold", "agent"), ("approve", "agent"))),
    ("approved", 3, (("approve", "agent"),)),
    ("on_hold", 4, (("hold", "agent"),)),
    ("on_hold", 2, (("concept", "agent"), ("hold", "lead"))),
    ("concept", 6, (("concept", "agent"),)),
    ("concept", 1, (("hold", "agent"), ("release", "agent"), ("concept", "agent"))),
    ("concept", 1, (("concept", "lead"),)),
    ("new", 10, ()),
    ("new", 3, (("stage", "agent"),)),
    ("new", 1, (("hold", "agent"), ("release", "agent"))),
)
# (min, max) days ago that requests ending in each status were submitted: done ones are older.
AGE_DAYS = {
    "completed": (25, 60),
    "label_created": (6, 30),
    "cancelled": (2, 45),
    "approved": (1, 14),
    "on_hold": (0.3, 8),
    "concept": (0.3, 10),
    "new": (0.05, 6),
}
CANCEL_REASONS = (
    (
        "Gedragen artikelen kunnen we helaas niet terugnemen.",
        "Unfortunately we cannot take back items that have been worn or used.",
    ),
    (
        "Op uw verzoek geannuleerd: u houdt het artikel toch.",
        "Cancelled at your request: you are keeping the item after all.",
    ),
    (
        "Dit artikel is speciaal voor u gepersonaliseerd en valt buiten het retourrecht.",
        "This item was personalised for you, so the right of return does not apply.",
    ),
)
REJECT_REASON = (
    "Dit artikel is in de uitverkoop gekocht en kan niet retour.",
    "This item was bought in the clearance sale and cannot be returned.",
)
FREE_EXCHANGE = (
    "Klant koos voor gratis ruilen — maak deze retour kosteloos aan.",
    "Customer chose a free exchange — create this return free of charge.",
)
HIGH_VALUE = (
    "Retourwaarde boven € 150: controleer de artikelen goed bij ontvangst.",
    "Return value above €150: check the items carefully on arrival.",
)
FREQUENT_RETURNER = (
    "Deze klant stuurde de afgelopen 60 dagen al drie bestellingen terug.",
    "This customer returned three orders in the last 60 days.",
)
ASK_PHOTO = (
    "Dag {first}, kunt u ons een foto sturen van het artikel en het label? "
    "Dan kunnen we uw aanvraag snel afhandelen.",
    "Hi {first}, could you send us a photo of the item and its label? "
    "Then we can handle your request quickly.",
)
CUSTOMER_REPLY = (
    "Hoi, de foto's heb ik net per mail gestuurd. Groet, {first}",
    "Hi, I have just emailed the photos. Regards, {first}",
)
ASK_PREFERENCE = (
    "Dag {first}, wilt u liever uw geld terug of een andere maat? Laat het ons weten.",
    "Hi {first}, would you rather have a refund or another size? Just let us know.",
)
INTERNAL_NOTE = "Klant belde: wil dit liefst snel geregeld hebben. Voorrang geven."


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
        if user.role_in(shop.id) is None:
            db.session.add(Membership(user=user, shop=shop, role=spec.role))
    db.session.flush()


@dataclass
class Team:
    """Who does what in one shop's demo: its agent and its lead (admin, or support)."""

    agent: User
    lead: User

    def __getitem__(self, who: str) -> User | workflow.Actor:
        if who == "customer":
            return workflow.Actor(label="customer")
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


def logo_data_uri(name: str, colour: str) -> str:
    """A small SVG word mark as a data: URI, so the demo needs no files or network."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 200 48'>"
        f"<rect width='200' height='48' rx='8' fill='{colour}'/>"
        "<text x='100' y='31' font-family='Georgia,serif' font-size='22' fill='#fff' "
        f"text-anchor='middle'>{name}</text></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def create_shop(spec: ShopSpec) -> Shop:
    name, street, postcode, city = spec.address
    shop = Shop(
        slug=spec.slug,
        name=spec.name,
        logo_url=logo_data_uri(spec.name, spec.brand_color),
        brand_color=spec.brand_color,
        languages="nl,en",
        default_language="nl",
        return_window_days=30,
        free_shipping_resolutions=spec.free_shipping_resolutions,
        return_fee_cents=spec.return_fee_cents,
        notification_email=f"retouren@{spec.email_domain}",
        support_email=f"klantenservice@{spec.email_domain}",
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
            label_nl="Wilt u ons nog iets laten weten?",
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
    who: User | workflow.Actor,
    rng: random.Random,
    stage: ReviewStage,
) -> None:
    """Do one step of a plan through workflow.py, as a member of staff would."""
    if op == "concept":
        workflow.set_concept(request, who)
    elif op == "hold":
        workflow.hold(request, who)
    elif op == "release":
        workflow.release(request, who)
    elif op == "stage":
        workflow.set_stage(request, who, stage)
    elif op == "reject_line":
        workflow.decide_line(
            request,
            who,
            request.lines[-1],
            approved=False,
            reason=pick(REJECT_REASON, request.language),
        )
    elif op in ("approve", "approve_keep"):
        workflow.approve(request, who, keep_items=op == "approve_keep")
    elif op == "cancel":
        workflow.cancel(request, who, pick(rng.choice(CANCEL_REASONS), request.language))
    elif op == "label":
        labels.create_return(request, "own", workflow.Actor(label="customer"))
    elif op == "complete" and request.keep_items:
        workflow.complete(request, who)
    elif op == "complete":
        receive_and_resolve(request, who)
    else:
        raise ValueError(f"unknown demo step {op!r}")


def receive_and_resolve(request: ReturnRequest, who: User) -> None:
    """The parcel travels, arrives in good order and is settled as the customer asked."""
    return_ = workflow.active_return(request)
    workflow.mark_in_transit(return_, workflow.Actor(label="carrier"))
    workflow.mark_delivered(return_, workflow.Actor(label="carrier"))
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
