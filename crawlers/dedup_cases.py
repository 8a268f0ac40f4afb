"""A seeded test set for dedup: templated-but-distinct documents beside true copies.

`build_cases(seed)` returns `DedupCase`s: mentions with the cluster each belongs to (same cluster =
copies of one document) and the family that produced it. Every vocabulary choice, number and template
is drawn from the seed, so a seed that was never looked at gives unseen texts.

Distinct families (each document is its own cluster; they share a template and differ in facts):
- `recall`: recall notices per model number (and units, months, hazard);
- `prices`: a shop's price list on different days or from different shops, one or two prices changed;
- `match`: match reports from one template (teams, score, scorer, minute);
- `forum`: forum replies that quote the previous post ("alice wrote:" + "> ...") and add a short reply.

Copy families (one cluster per group; every member must collapse into one mention):
- `syndicated`: a long news text republished with another byline/footer, changed case or punctuation;
- `spam`: bot posts with the same offer (same price), links, handles, hashtags and emoji changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from groundswell.mention import Mention, SourceKind

__all__ = ["COPY_FAMILIES", "DISTINCT_FAMILIES", "DedupCase", "build_cases"]

DISTINCT_FAMILIES = ("recall", "prices", "match", "forum")
COPY_FAMILIES = ("syndicated", "spam")

_BRANDS = [
    "Acme",
    "Novaline",
    "Brightway",
    "Kestrel",
    "Orbis",
    "Tandem",
    "Velora",
    "Halden",
    "Quorra",
    "Sunfield",
]
_PRODUCTS = ["kettle", "space heater", "blender", "air fryer", "hair dryer", "power bank", "e-bike charger",
             "toaster", "humidifier", "slow cooker", "electric blanket", "phone charger"]  # fmt: skip
_HAZARDS = ["can overheat and melt the housing", "may short-circuit when the cord is bent",
            "can crack and spray hot liquid", "may catch fire while charging",
            "can give an electric shock through the handle", "may leak and scald the user"]  # fmt: skip
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_TEAMS = ["Arlington", "Bramfield", "Castleton", "Dunmore", "Eastvale", "Fairhaven", "Glenwood", "Harrowgate",
          "Ironbridge", "Kingsley", "Lakeside", "Millbrook"]  # fmt: skip
_PLAYERS = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Brennan", "Silva", "Novak", "Haddad", "Kowalski",
            "Dubois", "Mensah", "Ferreira"]  # fmt: skip
_SHOPS = ["Corner Electrics", "HomeBase Outlet", "Value Appliances", "City Gadgets", "Northside Supplies"]
_USERS = ["alice_k", "bobthebuilder", "carla88", "dmitri", "ewan_r", "fatima", "gus", "hiro_t", "ines", "jo"]
_SYMPTOMS = ["clicks and shuts off", "smells of burnt plastic", "trips the breaker", "gets too hot to touch",
             "stops charging", "rattles loudly"]  # fmt: skip
_BYLINES = ["Breaking:", "UPDATE —", "From our newsroom:", "Reposted from SafetyWatch:", "Wire report.", ""]
_FOOTERS = ["Read more at our website.", "(c) {year} Daily Bulletin. All rights reserved.",
            "Subscribe to our newsletter for more stories like this.", "Originally published by the Consumer Desk.",
            "Copyright {year} Metro Wire Service. Reprinted with permission.", "Share this story with your friends.",
            ""]  # fmt: skip
_EMOJI = ["🔥", "👉", "!!!", "", "💥💥", "😍", "✅", "🚀", "⚡"]


@dataclass(frozen=True)
class DedupCase:
    mention: Mention
    cluster: int  # same cluster = copies of one document
    family: str  # one of DISTINCT_FAMILIES or COPY_FAMILIES
    copy_group: bool  # True for members of a copy family


def _model(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHKLMNPRSTVX") for _ in range(rng.choice((1, 2))))
    return f"{letters}{rng.randrange(1, 999)}"


def _recall(rng: random.Random) -> list[str]:
    brand, product, hazard = rng.choice(_BRANDS), rng.choice(_PRODUCTS), rng.choice(_HAZARDS)
    m1, m2 = sorted(rng.sample(range(12), 2))
    template = (
        "{brand} is recalling about {units} {product} units, model {model}, because the appliance {hazard}. "
        "The recall covers units sold between {start} and {end} {year} in stores and online. Owners should "
        "stop using the {product} at once and contact {brand} for a free repair or a full refund. {injuries}"
    )
    docs = []
    year = rng.randrange(2019, 2027)
    injuries = (
        f"The company has received {rng.randrange(3, 90)} reports, including {rng.randrange(1, 9)} injuries."
    )
    for _ in range(rng.randint(3, 6)):
        docs.append(
            template.format(
                brand=brand, product=product, hazard=hazard, model=_model(rng),
                units=f"{rng.randrange(2, 400) * 1000:,}", start=_MONTHS[m1], end=_MONTHS[m2], year=year,
                injuries=injuries,
            )
        )  # fmt: skip
    return docs


def _prices(rng: random.Random) -> list[str]:
    items = [
        (f"{rng.choice(_BRANDS)} {p} {_model(rng)}", rng.randrange(9, 300)) for p in rng.sample(_PRODUCTS, 5)
    ]
    shop = rng.choice(_SHOPS)
    docs = []
    for _ in range(rng.randint(3, 5)):
        changed = dict(items)
        for name, _price in rng.sample(items, rng.choice((1, 2))):
            changed[name] = changed[name] + rng.choice((-1, 1)) * rng.randrange(1, 40)
        lines = [f"{name}: ${max(1, price)}.{rng.choice((49, 99, 95))}" for name, price in changed.items()]
        docs.append(f"This week's prices at {shop}. " + " ; ".join(lines) + " . Prices include sales tax.")
    return docs


def _match(rng: random.Random) -> list[str]:
    template = (
        "{home} beat {away} {hs}-{as_} on Saturday in front of a crowd of {crowd} at the home ground. "
        "{scorer} opened the scoring in the {minute}th minute after a long ball over the defence, and the "
        "visitors never recovered. The manager said after the game that the squad had worked hard all week "
        "and deserved the points."
    )
    docs = []
    for _ in range(rng.randint(3, 6)):
        home, away = rng.sample(_TEAMS, 2)
        hs = rng.randrange(1, 6)
        docs.append(
            template.format(home=home, away=away, hs=hs, as_=rng.randrange(0, hs), crowd=f"{rng.randrange(2, 60) * 1000:,}",
                            scorer=rng.choice(_PLAYERS), minute=rng.randrange(2, 90))
        )  # fmt: skip
    return docs


def _forum(rng: random.Random) -> list[str]:
    brand, product = rng.choice(_BRANDS), rng.choice(_PRODUCTS)
    first = (
        f"My {brand} {product} {rng.choice(_SYMPTOMS)} after about {rng.randrange(2, 30)} minutes of use. "
        f"Bought it {rng.randrange(2, 11)} weeks ago. Has anyone else seen this?"
    )
    docs = [first]
    previous, author = first, rng.choice(_USERS)
    for _ in range(rng.randint(2, 5)):
        reply = (
            f"Same here with my {brand} {product}, mine {rng.choice(_SYMPTOMS)} "
            f"after {rng.randrange(2, 12)} weeks. I paid ${rng.randrange(20, 300)} for it. "
            f"{rng.choice(['Sent it back.', 'Support never answered.', 'Waiting for a refund.'])}"
        )
        quoted = "\n".join(f"> {line}" for line in previous.split(". "))
        docs.append(f"{author} wrote:\n{quoted}\n{reply}")
        previous, author = reply, rng.choice(_USERS)
    return docs


def _syndicated(rng: random.Random) -> list[str]:
    brand, product = rng.choice(_BRANDS), rng.choice(_PRODUCTS)
    body = (
        f"Regulators opened an inquiry into {brand} on {rng.choice(['Monday', 'Tuesday', 'Thursday'])} after "
        f"{rng.randrange(12, 400)} owners reported that its {product} {rng.choice(_HAZARDS)}. The agency said "
        f"it had asked the company for sales figures covering {rng.randrange(2018, 2026)} and "
        f"{rng.randrange(2018, 2026)}, and that a recall of model {_model(rng)} was possible. {brand} said in a "
        f"statement that safety was its first priority and that it was cooperating fully with the inquiry."
    )
    copies = [body]
    for _ in range(rng.randint(1, 4)):
        year = rng.randrange(2024, 2027)
        copy = f"{rng.choice(_BYLINES)} {body} {rng.choice(_FOOTERS).format(year=year)}".strip()
        if rng.random() < 0.25:
            copy = copy.upper()
        if rng.random() < 0.4:
            copy = copy.replace(", ", " , ").replace(". ", "! ")
        copies.append(copy)
    return copies


def _spam(rng: random.Random) -> list[str]:
    brand, product = rng.choice(_BRANDS), rng.choice(_PRODUCTS)
    price = f"${rng.randrange(9, 200)}.{rng.choice((49, 99))}"
    offer = f"get the {brand} {product} for only {price} today, limited stock, free shipping on every order"
    copies = []
    for _ in range(rng.randint(3, 7)):
        handle = f"@{rng.choice(['deals', 'promo', 'shop', 'bargain'])}{rng.randrange(999)}"
        link = f"https://{rng.choice(['bit', 'tiny', 'go'])}.example/{rng.getrandbits(32):x}"
        tag = f"#{rng.choice(['deal', 'sale', 'ad', 'promo'])}{rng.randrange(50)}"
        copies.append(f"{handle} {rng.choice(_EMOJI)} WOW {offer} {rng.choice(_EMOJI)} {link} {tag}")
    return copies


_FAMILIES = {
    "recall": _recall, "prices": _prices, "match": _match, "forum": _forum,
    "syndicated": _syndicated, "spam": _spam,
}  # fmt: skip


def build_cases(seed: int, groups_per_family: int = 20) -> list[DedupCase]:
    """Mentions from every family, shuffled in time; `groups_per_family` templates (or copy groups) per family."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    cases: list[DedupCase] = []
    cluster = 0
    for family, make in _FAMILIES.items():
        copy_family = family in COPY_FAMILIES
        for group in range(groups_per_family):
            for index, text in enumerate(make(rng)):
                mention = Mention(
                    source=f"{family}-{index % 3}",
                    source_kind=SourceKind.news,
                    url=f"https://{family}.example/{seed}/{group}/{index}",
                    author=rng.choice(_USERS),
                    text=text,
                    published=t0 + timedelta(minutes=rng.randrange(60 * 24 * 7)),
                )
                cases.append(DedupCase(mention, cluster, family, copy_family))
                if not copy_family:
                    cluster += 1
            if copy_family:
                cluster += 1
    return cases
