"""The cast of the demo market: our brand, the competitors, their products, the watched opinion leaders.

Everything here is fixed (it is the market's "world"); what people say about it is generated, seeded,
in `groundswell.app.demo.generate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    aliases: tuple[str, ...]
    category: str  # kettle, vacuum, fan, air fryer
    features: tuple[str, ...]
    price: int


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    aliases: tuple[str, ...]
    handles: tuple[str, ...]
    products: tuple[Product, ...]
    ours: bool


@dataclass(frozen=True)
class Leader:
    id: str
    name: str
    handle: str  # the author name used on every demo source
    reach: int
    topic: str
    handles: tuple[str, ...] = field(default=())


ACME = Brand(
    id="acme",
    name="Acme",
    aliases=("Acme Home", "ACME"),
    handles=("@acmehome", "#acme"),
    ours=True,
    products=(
        Product(
            "acme-steampro",
            "Acme SteamPro kettle",
            ("SteamPro", "steam pro", "SteamPro kettle"),
            "kettle",
            ("auto shut-off", "keep-warm mode", "temperature dial", "glass window", "handle"),
            79,
        ),
        Product(
            "acme-cleanbot",
            "Acme CleanBot vacuum",
            ("CleanBot", "clean bot", "CleanBot 2"),
            "robot vacuum",
            ("app", "mapping", "suction", "battery", "dock", "brush roll"),
            349,
        ),
        Product(
            "acme-breezefan",
            "Acme BreezeFan",
            ("BreezeFan", "breeze fan"),
            "tower fan",
            ("remote", "oscillation", "night mode", "timer"),
            129,
        ),
        Product(
            "acme-crispair",
            "Acme CrispAir air fryer",
            ("CrispAir", "crisp air"),
            "air fryer",
            ("basket", "presets", "non-stick coating", "display"),
            149,
        ),
    ),
)

ZEPHYR = Brand(
    id="zephyr",
    name="Zephyr",
    aliases=("Zephyr Appliances",),
    handles=("@zephyrhome", "#zephyr"),
    ours=False,
    products=(
        Product(
            "zephyr-airchef",
            "Zephyr AirChef",
            ("AirChef", "air chef"),
            "air fryer",
            ("basket", "presets", "window", "display"),
            139,
        ),
        Product(
            "zephyr-airchef-x",
            "Zephyr AirChef X",
            ("AirChef X", "AirChefX", "air chef x"),
            "air fryer",
            ("dual basket", "steam crisp mode", "app", "window"),
            199,
        ),
        Product(
            "zephyr-boilmate",
            "Zephyr BoilMate kettle",
            ("BoilMate", "boil mate"),
            "kettle",
            ("auto shut-off", "temperature presets", "handle"),
            69,
        ),
    ),
)

NOVALINE = Brand(
    id="novaline",
    name="Novaline",
    aliases=("Nova Line",),
    handles=("@novaline", "#novaline"),
    ours=False,
    products=(
        Product(
            "novaline-robovac",
            "Novaline RoboVac",
            ("RoboVac", "robo vac"),
            "robot vacuum",
            ("app", "suction", "battery", "mop pad"),
            299,
        ),
        Product(
            "novaline-cooltower",
            "Novaline CoolTower fan",
            ("CoolTower", "cool tower"),
            "tower fan",
            ("remote", "oscillation", "timer"),
            99,
        ),
    ),
)

BRANDS: tuple[Brand, ...] = (ACME, ZEPHYR, NOVALINE)
PRODUCTS: dict[str, Product] = {p.id: p for b in BRANDS for p in b.products}
BRAND_OF: dict[str, Brand] = {p.id: b for b in BRANDS for p in b.products}

LEADERS: tuple[Leader, ...] = (
    Leader(
        "dana-reyes", "Dana Reyes", "danareyes", 184_000, "smart home and cleaning gadgets", ("Dana Reyes",)
    ),
    Leader("tom-okafor", "Tom Okafor", "techtom", 92_000, "kitchen gear and cooking", ("Tom Okafor",)),
)

SUBREDDIT = "HomeAppliances"
MASTODON_TAG = "homeappliances"
