"""The demo's data: its shops and products, staff, customers' names and addresses, and the
story of each request (what is asked, what happens next), in Dutch and English.

``demo.seeding`` turns it into rows; change the demo here, not there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    ("approved", 2, (("approve", "agent"),)),
    ("expired", 1, (("approve", "agent"), ("expire", "customer"))),
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
    "expired": (20, 30),
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
        "Op je verzoek geannuleerd: je houdt het artikel toch.",
        "Cancelled at your request: you are keeping the item after all.",
    ),
    (
        "Dit artikel is speciaal voor je gepersonaliseerd en valt buiten het retourrecht.",
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
    "Dag {first}, kun je ons een foto sturen van het artikel en het label? "
    "Dan kunnen we je aanvraag snel afhandelen.",
    "Hi {first}, could you send us a photo of the item and its label? "
    "Then we can handle your request quickly.",
)
CUSTOMER_REPLY = (
    "Hoi, de foto's heb ik net per mail gestuurd. Groet, {first}",
    "Hi, I have just emailed the photos. Regards, {first}",
)
ASK_PREFERENCE = (
    "Dag {first}, wil je liever je geld terug of een andere maat? Laat het ons weten.",
    "Hi {first}, would you rather have a refund or another size? Just let us know.",
)
INTERNAL_NOTE = "Klant belde: wil dit liefst snel geregeld hebben. Voorrang geven."
