"""How people in the demo market write: seeded templates, combined and roughened like real posts.

`Voice` turns an intent (a compliment about delivery, a question about a feature, a safety scare...)
into a sentence or three, then adds the noise of real writing: typos, slang, emoji, sarcasm, lower
case, a second unrelated topic. Nothing here knows about dates or sites.
"""

from __future__ import annotations

import random
import re

from groundswell.app.demo.catalog import Product

COMPLIMENT = {
    "product": [
        "Really happy with my {name}, the {feature} works exactly like it should.",
        "Been using the {alias} for {n} weeks now and honestly it's great.",
        "The {feature} on the {alias} is the best I've had on any {category}.",
        "Ok the {alias} is genuinely good. Quiet, solid, does the job.",
        "Five months in and my {alias} still works like day one, impressed.",
    ],
    "customer_service": [
        "Shout out to {brand} support, they sorted my {alias} issue in one call.",
        "{brand} customer service was super friendly, replaced the {feature} no questions asked.",
        "Chatted with {brand} support about the {alias} and they actually knew their stuff.",
    ],
    "delivery": [
        "Ordered the {alias} on Monday, arrived Tuesday morning. Fast delivery!",
        "Delivery of my {name} was quick and the box was well packed.",
    ],
    "pricing": [
        "Got the {alias} on sale for ${price_low}, absolute bargain.",
        "For ${price} the {alias} is really good value.",
    ],
    "shopping_experience": [
        "The {brand} website made it easy to compare models, bought the {alias} in 2 minutes.",
        "Checkout on the {brand} store was smooth, nice experience overall.",
    ],
    "marketing": [
        "Love the new {brand} ad with the dog and the {category}, made me laugh.",
    ],
    "branding_pr": [
        "{brand} keeps impressing me as a company, they actually listen to customers.",
    ],
}

COMPLAINT = {
    "product": [
        "The {feature} on my {alias} stopped working after {n} weeks. Not great.",
        "Disappointed with the {name}, the {feature} feels cheap.",
        "My {alias} makes a weird rattling noise now, anyone else?",
        "The {feature} on the {alias} is just bad. Expected more from {brand}.",
        "Returned the {alias}. The {feature} never worked properly.",
    ],
    "customer_service": [
        "{brand} support kept me on hold for 45 minutes about my {alias}. Terrible service.",
        "Emailed {brand} three times about the {feature}, no answer. Customer service is a joke.",
        "Support told me to 'reset it' for the fifth time. {brand} pls.",
    ],
    "delivery": [
        "My {alias} arrived two weeks late and the box was crushed.",
        "Delivery was a mess, the courier left my {name} in the rain.",
        "Still waiting for the {alias} I ordered {n} days ago. Tracking says nothing.",
    ],
    "pricing": [
        "${price} for the {alias}?? Way overpriced for what it is.",
        "The {alias} went up by $20 overnight, not cool {brand}.",
        "Replacement parts for the {alias} cost a fortune. Rip-off.",
    ],
    "shopping_experience": [
        "The {brand} online store crashed twice at checkout. Gave up.",
        "Couldn't find the {alias} in any store near me, website says in stock. Annoying.",
    ],
    "marketing": [
        "The {brand} ads are everywhere and honestly getting annoying.",
    ],
    "branding_pr": [
        "{brand} used to be a brand you could trust. Not anymore.",
    ],
}

QUESTION = {
    "product": [
        "Does the {alias} have a {feature}? Can't find it in the manual.",
        "Anyone know if the {alias} is worth it over the {other}?",
        "How loud is the {alias} really? Thinking of buying one.",
        "Is it normal that the {feature} on the {alias} gets warm?",
        "{alias} or {other}, which one would you pick?",
    ],
    "customer_service": [
        "How do I reach {brand} support? The phone line never picks up.",
    ],
    "delivery": [
        "How long does {brand} usually take to ship the {alias}?",
    ],
    "pricing": [
        "Will the {alias} go on sale for Black Friday, anyone know?",
        "Is the {alias} cheaper on the {brand} site or in stores?",
    ],
    "shopping_experience": [
        "Can you return the {alias} in store if you bought it online?",
    ],
}

IDEA = {
    "product": [
        "Wish the {alias} had a {feature} you could turn off. {brand}, please add that.",
        "It would be great if {brand} made a smaller version of the {alias}.",
        "Suggestion for {brand}: let us schedule the {alias} from the app.",
        "Would love a quieter mode on the {alias}, just saying.",
    ],
    "customer_service": [
        "{brand} should add live chat for support, calling is painful.",
    ],
    "delivery": [
        "Please offer pickup points for the {alias}, I'm never home for delivery.",
    ],
    "pricing": [
        "{brand} should sell a bundle with the {alias} and spare parts.",
    ],
}

CHATTER = [
    "Comparing the {alias} and the {other} this weekend, will report back.",
    "Unboxing my new {alias} tonight.",
    "Saw the {alias} at a friend's place, looks nice in a small kitchen.",
    "Moving flats next month, need a new {category}. Looking at the {alias}.",
    "Just read a review of the {alias}, seems decent.",
]

SARCASM = [
    "Oh great, the {feature} on my {alias} died again. Love that for me.",
    "Wow, {brand} support hung up on me. Truly world class service.",
    "Nothing says quality like a {category} that breaks in week two. Thanks {brand}.",
]

OFF_TOPIC = [
    "Also my cat hates it.",
    "Anyway, back to watching the game.",
    "Unrelated but the weather is awful today.",
    "Btw does anyone have a good soup recipe?",
    "Going on holiday next week so we'll see.",
    "My neighbour has the same one lol.",
]

CONTEXT = [
    "We bought it for our new flat.",
    "Had it since {month}.",
    "Got it as a gift from my {relative}.",
    "Using it every single morning.",
    "Family of {n}, so it gets used a lot.",
    "This is the second one I've owned.",
    "Switched from a {other} last year.",
    "Bought it at {store} during the sale.",
    "My {relative} picked this one, not me.",
    "Small kitchen here, so size matters.",
    "Update after a few weeks of use:",
    "Long time lurker, first post.",
    "Quick one before work:",
    "Not sure if this is the right place but",
    "So I finally caved and got one.",
    "Been going back and forth on this for a while.",
    "Context: I live in a tiny studio with a cat.",
    "We host a lot of people on weekends.",
    "Ordered it from {store} online.",
    "I work from home so it runs all day.",
    "My {relative} has one too, that's why I bought it.",
    "I read every review before buying, for what it's worth.",
    "Our old one died after {n} years.",
    "Bit of a gadget person here.",
    "Writing this at 2am because I can't sleep.",
    "Mixed feelings so far.",
    "Posting for my {relative} who isn't on here.",
    "Just moved house and replaced everything.",
]

CLOSER = [
    "Anyone else?",
    "Would I buy it again? {yes_no}.",
    "{score}/10.",
    "Just my two cents.",
    "Will update if anything changes.",
    "Thoughts?",
    "Cheers.",
    "Happy to answer questions.",
    "Make of that what you will.",
    "That's all, carry on.",
    "Curious what others think.",
    "Lesson learned, I guess.",
    "Hope this helps someone.",
    "Let me know if you've seen the same.",
    "Anyway, that's my experience with it.",
    "Not sponsored, obviously.",
]

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
RELATIVES = [
    "sister",
    "brother",
    "mum",
    "dad",
    "partner",
    "flatmate",
    "wife",
    "husband",
    "grandma",
    "neighbour",
    "boss",
]
STORES = [
    "HomeMart",
    "CityElectro",
    "ShopNow",
    "the outlet store",
    "BigBox",
    "Kitchenly",
    "a local shop",
    "MegaStore",
]

SLANG = ["tbh", "ngl", "imo", "fr", "lol", "idk", "smh", "fwiw"]
POS_EMOJI = ["😍", "👍", "🙌", "✨", "😊", "🔥"]
NEG_EMOJI = ["😡", "👎", "🙄", "😤", "💀", "😒"]
Q_EMOJI = ["🤔", "❓"]

SAFETY = [
    "My {alias} overheated and the {feature} started melting. Smelled like burning plastic.",
    "The {alias} didn't switch off, boiled dry and the base got scorching hot. Scary.",
    "Burned my hand on the {alias}, the {feature} gets way too hot. Has anyone else had this?",
    "Sparks came out of the base of my {alias} this morning!! Unplugged it immediately.",
    "Our {alias} caught fire on the counter. Small flames but we had to use the extinguisher.",
    "Is there a recall on the {alias}? Mine overheats every time now.",
    "Second {alias} in a row that overheats. The {feature} was too hot to touch. This is a safety issue.",
    "Kid touched the side of the {alias} and got a burn. Red blister. Not ok {brand}.",
    "The {alias} keeps boiling after the auto shut-off should kick in, the base is scorched.",
    "Smoke coming out of my {alias}. Reported it to {brand}, they said they're 'looking into it'. Recall when?",
    "Why is nobody talking about the {alias} overheating? Mine nearly started a fire.",
    "PSA: unplug your {alias} when not in use. Mine got dangerously hot and melted the plug.",
]

SAFETY_TITLES = [
    "{alias} overheating - anyone else?",
    "{alias} melted!!",
    "Burn from my {alias}",
    "{alias} caught fire??",
    "Recall on {alias}?",
    "Dangerous {alias}, be careful",
]

LAUNCH = [
    "Just ordered the new {alias}! The {feature} looks amazing.",
    "The {alias} is finally out, first impressions: solid, {feature} is a game changer.",
    "Anyone got the {alias} yet? Thinking of switching from my old fryer.",
    "{alias} review after a week: the {feature} is great, price is steep.",
    "Saw the {alias} at the store today, looks way better than the old AirChef.",
    "{brand} really nailed the {alias}. Sorry Acme, switching.",
    "Is the {alias} worth ${price}? The {feature} sounds nice.",
    "Got the {alias} for my mum, she loves the {feature}.",
]

LEADER_POST = (
    "I've tested a lot of robot vacuums and I have to say it: {brand} just put the {alias} mapping "
    "and scheduling behind a monthly subscription. A ${price} vacuum that stops being smart unless you "
    "pay every month is a rip-off, and support told me it's 'working as intended'. I can't recommend "
    "the {alias} anymore. Look at the alternatives."
)

ECHO = [
    "{leader} is right, the {alias} subscription thing is a rip-off.",
    "After {leader}'s post I checked my {alias} app and yep, paywalled. Cancelling.",
    "Read what {leader} wrote about the {alias}. Returning mine.",
    "Not buying the {alias} after that subscription news. Thanks {leader} for the heads up.",
    "So the {alias} needs a subscription now?? Wow {brand}. {leader} called it.",
    "{leader} nailed it. Paying monthly for a vacuum I already own is absurd.",
    "Was about to buy the {alias}, then saw {leader}'s review. Hard pass.",
    "{brand} support told me the same thing they told {leader}: 'working as intended'. Awful.",
]

RANT = [
    "THE {alias} IS GARBAGE. Worst fan I have ever owned. Loud, flimsy, useless, awful, horrible.",
    "I hate this {alias}. Hate it. The {feature} broke, the remote broke, my patience broke. Terrible terrible product.",
    "Do NOT buy the {alias}. Absolute junk, pathetic quality, disgusting customer service, total waste of money.",
    "Still furious about the {alias}. Useless garbage. Awful. I want my money back. Worst purchase ever.",
    "Another day, another reason to hate the {alias}. The {feature} is trash. Horrible, awful, pathetic.",
    "Why does the {alias} exist?? Terrible design, horrible noise, broken {feature}. I am so angry.",
]

SPAM = (
    "🔥🔥 {alias} {pct}% OFF TODAY ONLY!!! Best robot vacuum of 2026, buy now at deals-{code}.example "
    "before it's gone!! #{tag} #deal"
)

NEWS_TEMPLATES = {
    "launch": (
        "{brand} launches the {name}",
        [
            "{brand} on {weekday} unveiled the {name}, a new {category} priced at ${price}.",
            "The company says the {feature} sets it apart from rivals such as {other}.",
            "Early buyers report that stock is limited and delivery takes up to a week.",
            "Analysts expect the launch to put pressure on competitors in the {category} market this spring.",
        ],
    ),
    "review": (
        "Hands-on: the {name} after a month",
        [
            "We spent four weeks with the {name}, {brand}'s {category} that sells for ${price}.",
            "The {feature} works well in daily use, although the build feels less premium than the price suggests.",
            "Compared with the {other}, it is quieter but slower.",
            "Verdict: a solid choice if you can find it on sale.",
        ],
    ),
    "roundup": (
        "The best {category}s this season",
        [
            "We compared the {name}, the {other} and three more {category}s.",
            "The {name} wins on its {feature}; the {other} is the better budget pick.",
            "Prices have gone up across the board, so watch for sales.",
        ],
    ),
    "company": (
        "{brand} reports strong demand for home appliances",
        [
            "{brand} said on {weekday} that demand for its {category}s remained strong.",
            "The company plans to expand customer service hours and add more delivery partners.",
            "It did not comment on pricing for the rest of the year.",
        ],
    ),
    "safety": (
        "Customers report {name} overheating",
        [
            "A growing number of owners of the {name} say the kettle overheats, with several reports of burns and one small fire.",
            "Posts on forums and social media describe the {feature} becoming too hot to touch and the base scorching.",
            "{brand} said it is investigating the reports and asked customers to contact support. It has not announced a recall.",
            "Consumer groups urged owners to unplug the kettle when not in use until the cause is known.",
        ],
    ),
    "subscription": (
        "{brand} moves {name} features behind a subscription",
        [
            "Owners of the {name} discovered this week that mapping and scheduling now require a monthly plan.",
            "The change drew sharp criticism online, led by reviewer Dana Reyes.",
            "{brand} said the subscription funds ongoing development of the app.",
        ],
    ),
}

ARTICLE_EXTRAS = [
    "In our tests the {feature} held up well over {n} weeks of daily use.",
    "Prices at {store} started at ${price}, though we saw it for less during a weekend promotion.",
    "Readers who wrote in mostly praised the {feature}, while a few mentioned delivery delays.",
    "The {category} market has grown quickly since {month}, with more brands competing on price.",
    "Support forums show a mix of questions about setup and the {feature}.",
    "Compared with last year's model, the design is slimmer and the controls are easier to read.",
    "Energy use was in line with similar {category}s we have measured.",
    "Retailers including {store} said stock had been tight for {n} weeks.",
    "Several owners told us they bought it after reading comparisons with the {other}.",
    "The manual is short and, frankly, not very helpful about the {feature}.",
    "Warranty terms are standard: two years, with registration online.",
    "We would like to see a quieter mode and better spare-part availability.",
    "Online reviews average around four stars, with complaints clustering around customer service.",
    "Noise levels were noticeable but not disruptive in an open-plan kitchen.",
    "Cleaning takes a few minutes; the {feature} is the fiddliest part.",
    "Social media chatter about the {category} spiked around the {month} sales.",
    "Industry analysts expect prices to fall later in the year as competition increases.",
    "Our sister site ran a reader poll: {n} in 10 would recommend it to a friend.",
]

QUOTES = [
    '"It does what it promises," said {person}, who has owned one for {n} months.',
    '"I expected more for the money," said {person}, a reader from {city}.',
    '"The {feature} is the reason I bought it," {person} told us.',
    '"Customer service could be faster," according to {person} in {city}.',
    '"We compared five models before choosing," said {person}.',
]
PEOPLE = [
    "Anna Kowalski",
    "Ben Ortiz",
    "Chen Wei",
    "Daniela Rossi",
    "Ed Murphy",
    "Fatou Diallo",
    "Gustav Berg",
    "Hiro Tanaka",
    "Isla Grant",
    "Jon Reyes",
]
CITIES = ["Leeds", "Austin", "Lyon", "Toronto", "Melbourne", "Dublin", "Porto", "Denver", "Cardiff", "Oslo"]

BOILERPLATE_PARAS = [
    "Sign up for our newsletter to get the best deals every week.",
    "This article contains affiliate links. We may earn a commission.",
    "Share this story on social media.",
]

FIRST = [
    "anna",
    "ben",
    "carla",
    "dev",
    "eli",
    "fatima",
    "greg",
    "hana",
    "ivan",
    "jules",
    "kim",
    "leo",
    "maria",
    "nico",
    "olga",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tariq",
    "uma",
    "vic",
    "wen",
    "xavi",
    "yara",
    "zoe",
    "marco",
    "jen",
    "lukas",
    "amir",
    "chloe",
    "diego",
    "emma",
    "felix",
    "gita",
    "hugo",
    "ines",
    "jonas",
]
SUFFIX = ["", "88", "_k", ".b", "_home", "99", "_cooks", "2k", "_m", "x", "_uk", "_nyc", "01", "_the_great"]
WORDS = [
    "kettle",
    "coffee",
    "dust",
    "crispy",
    "breeze",
    "gadget",
    "kitchen",
    "clean",
    "toast",
    "home",
    "cozy",
    "tea",
]


_TYPO_WORDS = {
    "the": "teh",
    "really": "realy",
    "definitely": "definately",
    "because": "becuase",
    "weird": "wierd",
    "receive": "recieve",
    "great": "grate",
    "their": "there",
    "separate": "seperate",
    "week": "weeek",
}


class Voice:
    """Seeded writer of demo posts: `voice.say(kind, area, product, ...)` returns the text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def username(self) -> str:
        r = self.rng
        style = r.random()
        if style < 0.5:
            return f"{r.choice(FIRST)}{r.choice(SUFFIX)}"
        if style < 0.8:
            return f"{r.choice(WORDS)}_{r.choice(FIRST)}{r.randint(1, 999)}"
        return f"{r.choice(FIRST).capitalize()}{r.choice(WORDS).capitalize()}{r.randint(10, 99)}"

    def fill(self, template: str, product: Product, *, brand: str, other: str, **extra: str) -> str:
        r = self.rng
        alias = r.choice((product.name, *product.aliases))
        values = {
            "name": product.name,
            "alias": alias,
            "brand": brand,
            "feature": r.choice(product.features),
            "category": product.category,
            "price": str(product.price),
            "price_low": str(int(product.price * r.choice((0.6, 0.7, 0.75, 0.8)))),
            "other": other,
            "n": str(r.randint(2, 11)),
            **extra,
        }
        return template.format(**values)

    def say(self, kind: str, area: str, product: Product, *, brand: str, other: str) -> str:
        r = self.rng
        bank = {"compliment": COMPLIMENT, "complaint": COMPLAINT, "question": QUESTION, "idea": IDEA}.get(
            kind
        )
        if kind == "complaint" and r.random() < 0.12:
            text = self.fill(r.choice(SARCASM), product, brand=brand, other=other)
        elif bank is None:
            text = self.fill(r.choice(CHATTER), product, brand=brand, other=other)
        else:
            templates = bank.get(area) or bank["product"]
            first = r.choice(templates)
            text = self.fill(first, product, brand=brand, other=other)
            if r.random() < 0.3:  # a second sentence of the same kind, often about another area
                second = [t for t in bank[r.choice(list(bank))] if t != first]
                if second:
                    text += " " + self.fill(r.choice(second), product, brand=brand, other=other)
        return self.roughen(text, mood=kind)

    def personal(self, text: str, *, other: str = "my old one") -> str:
        """Wrap a post in the writer's own context and sign-off: no two people write the same post."""
        r = self.rng
        values = {
            "month": r.choice(MONTHS),
            "relative": r.choice(RELATIVES),
            "n": str(r.randint(2, 9)),
            "other": other,
            "store": r.choice(STORES),
            "yes_no": r.choice(("Yes", "Probably", "No", "Honestly no", "Not sure")),
            "score": str(r.randint(1, 10)),
        }
        if r.random() < 0.85:
            text = r.choice(CONTEXT).format(**values) + " " + text
        if r.random() < 0.55:
            text = text + " " + r.choice(CLOSER).format(**values)
        return text

    def roughen(self, text: str, *, mood: str, personal: bool = True) -> str:
        """The writer's context, then typos, slang, emoji, lower case and off-topic asides, at realistic rates."""
        r = self.rng
        if personal:
            text = self.personal(text)
        if r.random() < 0.15:
            words = text.split(" ")
            for i, w in enumerate(words):
                if w.lower() in _TYPO_WORDS and r.random() < 0.35:
                    words[i] = _TYPO_WORDS[w.lower()]
            if r.random() < 0.5 and len(words) > 4:  # swapped letters in one longer word
                i = r.randrange(len(words))
                w = words[i]
                if len(w) > 4 and w.isalpha():
                    j = r.randrange(1, len(w) - 2)
                    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            text = " ".join(words)
        if r.random() < 0.15:
            text = f"{r.choice(SLANG)} {text[0].lower()}{text[1:]}"
        if r.random() < 0.12:
            text = text.lower()
        if r.random() < 0.1:
            text += " " + r.choice(OFF_TOPIC)
        if r.random() < 0.3:
            emoji = {"compliment": POS_EMOJI, "complaint": NEG_EMOJI, "question": Q_EMOJI}.get(
                mood, POS_EMOJI + Q_EMOJI
            )
            text += " " + r.choice(emoji) * r.choice((1, 1, 2, 3))
        return re.sub(r"\s+", " ", text).strip()

    def title(self, text: str) -> str:
        """A forum/reddit title derived from a post: its first clause, shortened."""
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".")
        words = first.split()
        return " ".join(words[:9]) + ("..." if len(words) > 9 else "")
