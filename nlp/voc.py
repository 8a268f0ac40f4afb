"""Voice-of-the-customer kind and business area (the CRRM scorecard areas): transparent rules.

VoC kind combines cue phrases (suggestions, questions) with the sentiment model's output (and a
review's star rating when the source has one): idea > question > complaint > compliment > other.
A question asked in anger ("Who would buy this battery?") is a complaint, not a question.

Business area is a weighted lexicon vote; no cue word means no area (None), never a guess.
Both are measured on the hand-labelled set in `nlp/eval_data/voc_area.tsv` by `benchmarks/eval_nlp.py`.
"""

from __future__ import annotations

import re

from groundswell.mention import BUSINESS_AREAS

RULES_VERSION = "rules@1"

_IDEA = re.compile(
    r"\bshould (?:add|make|have|offer|bring|consider|include|let|allow|be able|put|release|sell|open)\b"
    r"|\bwould (?:be|love it) (?:so |really )?(?:nice|great|better|awesome|cool|good|helpful) if\b"
    r"|\bi'?d (?:love|like) (?:to see|it if)\b|\bi (?:really )?wish (?:they|you|it|there|new|the|more)\b"
    r"|\bwish (?:they|you) (?:had|would|could)\b|\bplease (?:add|make|bring|consider|release|allow|include|fix|let|offer|open)\b"
    r"|\bcould use (?:some|a|an|more|better)\b|\bhow about (?:adding|a|an|some)\b|\bsuggest(?:ion)?s? (?:for|to)\b"
    r"|\bfeature request\b|\bit would help\b|\bwhy not (?:add|make|offer|sell|open)\b|\bneeds? (?:an?|more|better) (?:option|way|feature|version|setting)\b"
    r"|\bshould have (?:some|a|an) (?:way|option)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:who|what|when|where|which|why|how|is|are|was|were|do|does|did|can|could|will|would|should|has|have|any ?one|anybody|has anyone)\b",
    re.I,
)
_COMPLAINT = re.compile(
    r"\b(?:refund|money back|broke|broken|doesn'?t work|does not work|did not work|stopped working|never again|worst|waste of|disappoint\w*"
    r"|terrible|awful|horrible|rude|scam|poor|useless|junk|crap|avoid|unacceptable|overpriced|not worth|lacking|mediocre)\b",
    re.I,
)
_COMPLIMENT = re.compile(
    r"\b(?:love|loved|great|excellent|amazing|awesome|perfect|fantastic|wonderful|recommend|best|delicious|outstanding|impressed|pleased|happy with)\b",
    re.I,
)
_TRAILER = re.compile(r"(?:\s|[#@]\w+|https?://\S+|[^\w\s?])*$")


def _asks(text: str) -> bool:
    """The text ends with a question mark, or one of its sentences is a question ("How do I ...?")."""
    if "?" not in text:
        return False
    if _TRAILER.sub("", text.strip()).endswith("?") or text.rstrip().endswith("?"):
        return True
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        words = [w for w in sentence.split() if not w.startswith(("@", "#"))]
        if sentence.rstrip().endswith("?") and words and _QUESTION_START.match(" ".join(words)):
            return True
    return False


def voc_kind(
    text: str, *, sentiment: str | None, sentiment_score: float | None, rating: float | None = None
) -> str:
    """compliment / complaint / idea / question / other."""
    if _IDEA.search(text):
        return "idea"
    score = sentiment_score or 0.0
    if _asks(text) and score > -0.5:
        return "question"
    negative = sentiment == "negative" or (rating is not None and rating <= 2)
    positive = sentiment == "positive" or (rating is not None and rating >= 4)
    if negative and not (rating is not None and rating >= 4):
        return "complaint"
    if positive:
        return "compliment"
    if _COMPLAINT.search(text) and score < 0.2:
        return "complaint"
    if _COMPLIMENT.search(text) and score > -0.2:
        return "compliment"
    return "other"


def _words(*items: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(items) + r")\b", re.I)


# (pattern, weight) per area; the highest total wins, ties go to the more specific area (listed first).
_AREAS: dict[str, list[tuple[re.Pattern[str], float]]] = {
    "delivery": [
        (
            _words(
                r"deliver\w*",
                "shipping",
                r"shipped",
                "arrived",
                "arrival",
                r"courier",
                r"tracking number",
                "dispatch\\w*",
                "on time",
                "package (?:was|arrived)",
                "well packaged",
                "packaging",
                "fedex",
                "ups",
                "usps",
                "dhl",
            ),
            2.0,
        ),
    ],
    "pricing": [
        (
            _words(
                r"prices?",
                r"pricing",
                r"priced",
                r"overpriced",
                r"expensive",
                r"cheap(?:er|est)?",
                r"inexpensive",
                r"afford\w*",
                r"value",
                r"bargain",
                r"discount\w*",
                r"coupon\w*",
                r"\$\d+",
                r"\d+ (?:bucks|dollars)",
                r"bucks",
                r"worth (?:the|it|every)",
                r"not worth",
                r"money's worth",
                r"fees?",
                r"gratuity",
                r"tip",
                r"saved (?:a ?lot|money)",
            ),
            2.0,
        ),
        (re.compile(r"\$\s?\d"), 2.0),
    ],
    "customer_service": [
        (
            _words(
                r"service",
                r"staff",
                r"waiter",
                r"waitress",
                r"servers?",
                r"bartender",
                r"host(?:ess)?",
                r"manager",
                r"management",
                r"employees?",
                r"workers?",
                r"cashier",
                r"representative",
                r"support",
                r"customer care",
                r"call cent(?:er|re)",
                r"help ?desk",
                r"rude\w*",
                r"friendly",
                r"helpful",
                r"attentive",
                r"welcom\w*",
                r"refund\w*",
                r"return (?:the|it)",
                r"exchange",
                r"owners?",
                r"chef",
                r"treated",
                r"seated",
                r"waited",
                r"wait(?:ing)? (?:for|an? )",
                r"took (?:over )?\d+ min\w*",
                r"an hour",
                r"accommodat\w*",
                r"rushed",
                r"contact(?:ing|ed)? the company",
                r"customer service",
            ),
            2.0,
        ),
    ],
    "shopping_experience": [
        (
            _words(
                r"store",
                r"shop(?:ping)?",
                r"website",
                r"online",
                r"check ?out",
                r"cart",
                r"atmosphere",
                r"ambiance",
                r"ambience",
                r"decor",
                r"clean",
                r"dirty",
                r"nasty",
                r"music",
                r"patio",
                r"parking",
                r"location",
                r"seating",
                r"queue",
                r"line",
                r"restroom",
                r"bathroom",
                r"venue",
                r"inside",
                r"kitchen",
                r"interior",
            ),
            1.5,
        ),
    ],
    "marketing": [
        (
            _words(
                r"ads?",
                r"advert\w*",
                r"commercials?",
                r"campaign",
                r"promo\w*",
                r"sponsor\w*",
                r"newsletter",
                r"influencer\w*",
                r"billboard",
                r"giveaway",
                r"contest",
                r"follow us",
                r"check out our",
                r"our (?:facebook|instagram|page)",
                r"marketing",
                r"slogan",
            ),
            2.0,
        ),
    ],
    "branding_pr": [
        (
            _words(
                r"brand",
                r"logo",
                r"reputation",
                r"ceo",
                r"scandal",
                r"press release",
                r"statement",
                r"boycott\w*",
                r"lawsuit",
                r"controvers\w*",
                r"image",
                r"pr disaster",
            ),
            2.0,
        ),
    ],
    "product": [
        (
            _words(
                r"products?",
                r"phones?",
                r"headsets?",
                r"earpieces?",
                r"battery",
                r"quality",
                r"design\w*",
                r"screen",
                r"sound",
                r"audio",
                r"volume",
                r"mic",
                r"chargers?",
                r"devices?",
                r"features?",
                r"camera",
                r"case",
                r"cable",
                r"software",
                r"update",
                r"plug",
                r"headphones?",
                r"bluetooth",
                r"fits?",
                r"works?",
                r"worked",
                r"working",
                r"durable",
                r"comfortabl\w*",
                r"unit",
                r"item",
                r"ring ?tones?",
                r"calls?",
                r"reception",
                r"color",
                r"graphics",
                r"pixels?",
                r"durability",
                r"ear ?buds?",
                r"look and feel",
            ),
            1.0,
        ),
        (
            _words(
                r"food",
                r"dish(?:es)?",
                r"tast\w*",
                r"flavou?r\w*",
                r"delicious",
                r"menu",
                r"meals?",
                r"pizza",
                r"steaks?",
                r"burgers?",
                r"cheeseburger",
                r"sandwich",
                r"salad",
                r"soup",
                r"fish",
                r"chicken",
                r"shrimp",
                r"sushi",
                r"sashimi",
                r"tuna",
                r"cake",
                r"dessert",
                r"drinks?",
                r"cocktail",
                r"coffee",
                r"breakfast",
                r"brunch",
                r"lunch",
                r"dinner",
                r"bacon",
                r"eggs",
                r"pancakes",
                r"noodles",
                r"spaghetti",
                r"pasta",
                r"vegetables",
                r"tacos?",
                r"meats?",
                r"fries",
                r"chips",
                r"milkshake",
                r"portions?",
                r"fresh",
                r"overcooked",
                r"undercooked",
                r"salty",
                r"bland",
                r"yummy",
                r"tasty",
                r"cooked",
                r"filling",
                r"ice cream",
            ),
            1.0,
        ),
    ],
}
_TIE_ORDER = (
    "delivery",
    "pricing",
    "customer_service",
    "marketing",
    "branding_pr",
    "shopping_experience",
    "product",
)
assert set(_TIE_ORDER) == set(BUSINESS_AREAS) == set(_AREAS)


def business_area(text: str) -> str | None:
    """The business area a text is mainly about, or None when it names none."""
    scores: dict[str, float] = {}
    for area, rules in _AREAS.items():
        total = sum(weight * len(pattern.findall(text)) for pattern, weight in rules)
        if total:
            scores[area] = total
    if not scores:
        return None
    best = max(scores.values())
    return next(area for area in _TIE_ORDER if scores.get(area) == best)
