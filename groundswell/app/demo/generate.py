"""Seeded generation of everything said in the demo market, before it is rendered as web pages.

`generate_market(seed, start, days)` returns the posts (forum posts, reviews, Reddit submissions,
Mastodon statuses, news and blog articles) and the truth about the planted scenarios. Rendering is
`groundswell.app.demo.site`'s job.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from groundswell.app.demo import catalog, language
from groundswell.app.demo.catalog import ACME, BRAND_OF, BRANDS, LEADERS, PRODUCTS, ZEPHYR, Product
from groundswell.app.demo.language import Voice
from groundswell.app.demo.truth import Scenario

CHANNELS = ("forum", "review", "reddit", "mastodon", "news", "blog")
_BACKGROUND_CHANNELS = (("forum", 0.38), ("review", 0.18), ("reddit", 0.2), ("mastodon", 0.24))
_KINDS = (("compliment", 0.3), ("complaint", 0.25), ("question", 0.18), ("idea", 0.1), ("chatter", 0.17))
_AREAS = (
    ("product", 0.45),
    ("customer_service", 0.15),
    ("delivery", 0.12),
    ("pricing", 0.14),
    ("shopping_experience", 0.08),
    ("marketing", 0.03),
    ("branding_pr", 0.03),
)


@dataclass
class Post:
    """One thing said in the market, on one channel."""

    channel: str
    author: str
    reach: int
    published: datetime
    text: str
    product: str | None
    title: str = ""
    rating: int | None = None
    thread: str | None = None  # forum thread key; the first post of a thread opens it
    reply_to: Post | None = None  # quoted forum post, or the Mastodon status replied to
    quote: bool = False
    scenario: str | None = None
    paragraphs: list[str] = field(default_factory=list)  # articles
    copy_group: str | None = None  # planted near-duplicates share a group name
    uid: str = ""


@dataclass
class Market:
    seed: int
    start: date
    end: date
    posts: list[Post]
    scenarios: list[Scenario]
    thread_titles: dict[str, str]


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


class _Generator:
    def __init__(self, seed: int, start: date, days: int) -> None:
        self.rng = random.Random(seed)
        self.voice = Voice(self.rng)
        self.seed = seed
        self.start = start
        self.days = days
        self.posts: list[Post] = []
        self.threads: dict[str, list[Post]] = {}
        self.thread_titles: dict[str, str] = {}
        self.thread_product: dict[str, str | None] = {}
        # a pool of regular people; a few post a lot, most post now and then (Zipf-like)
        names: list[str] = []
        while len(names) < 900:
            name = self.voice.username()
            if name not in names and name not in {leader.handle for leader in LEADERS}:
                names.append(name)
        self.pool = names
        self.pool_weights = [1.0 / (i + 1) ** 0.6 for i in range(len(names))]
        self.reach = {n: int(self.rng.lognormvariate(4.5, 1.3)) for n in names}
        self.launch_day = int(days * 0.55)

    # ---- helpers --------------------------------------------------------------------------------
    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def when(self, day_index: int, *, hours: tuple[float, float] = (6.5, 23.5)) -> datetime:
        hour = self.rng.triangular(hours[0], hours[1], min(hours[1], 20.0))
        base = datetime.combine(self.day(day_index), time(0, 0), tzinfo=UTC)
        return base + timedelta(seconds=int(hour * 3600) + self.rng.randint(0, 59))

    def person(self) -> str:
        return self.rng.choices(self.pool, weights=self.pool_weights)[0]

    def fresh_person(self, used: set[str]) -> str:
        while True:
            name = self.rng.choice(self.pool)
            if name not in used:
                used.add(name)
                return name

    def other_product(self, product: Product) -> str:
        same = [p for p in PRODUCTS.values() if p.category == product.category and p.id != product.id]
        same = [p for p in same if p.id != "zephyr-airchef-x"]
        return self.rng.choice(same).name if same else self.rng.choice(list(PRODUCTS.values())).name

    def open_threads(self, now: datetime) -> list[str]:
        return [k for k, posts in self.threads.items() if now - posts[-1].published < timedelta(days=6)]

    def add(self, post: Post, *, new_thread_title: str | None = None, thread: str | None = None) -> Post:
        """File a post; forum posts join `thread` (or open a new one titled `new_thread_title`)."""
        if post.channel == "forum":
            if thread is None:
                thread = f"t{len(self.threads) + 1:04d}"
                self.threads[thread] = []
                self.thread_titles[thread] = new_thread_title or self.voice.title(post.text)
                self.thread_product[thread] = post.product
            else:
                previous = self.threads[thread]
                if self.rng.random() < 0.22:
                    post.reply_to = self.rng.choice(previous[-3:])
                    post.quote = True
            post.thread = thread
            self.threads[thread].append(post)
        self.posts.append(post)
        return post

    def forum_post(self, post: Post, title: str | None = None) -> Post:
        """A background forum post: a reply to a recent thread about the same product, or a new thread."""
        candidates = [t for t in self.open_threads(post.published) if self.thread_product[t] == post.product]
        if candidates and self.rng.random() < 0.7:
            return self.add(post, thread=self.rng.choice(candidates))
        return self.add(post, new_thread_title=title)

    def finish(self, post: Post) -> Post:
        if post.channel == "forum":
            return self.forum_post(post)
        return self.add(post)

    # ---- background chatter ---------------------------------------------------------------------
    def background(self) -> None:
        for d in range(self.days):
            weekend = self.day(d).weekday() >= 5
            lam = 42.0 if weekend else 30.0
            n = max(5, round(self.rng.gauss(lam, math.sqrt(lam))))
            for _ in range(n):
                self.chatter(d)

    def chatter(self, d: int) -> None:
        rng = self.rng
        choices = [p for p in PRODUCTS.values() if p.id != "zephyr-airchef-x"]
        weights = [2.0 if BRAND_OF[p.id].ours else 1.3 for p in choices]
        product = rng.choices(choices, weights=weights)[0]
        brand = BRAND_OF[product.id]
        channel = _pick(rng, _BACKGROUND_CHANNELS)
        kind = _pick(rng, _KINDS)
        if channel == "review" and kind in ("chatter", "idea", "question"):
            kind = rng.choice(("compliment", "complaint", "compliment"))
        area = _pick(rng, _AREAS)
        text = self.voice.say(kind, area, product, brand=brand.name, other=self.other_product(product))
        author = self.person()
        rating = None
        if channel == "review":
            rating = rng.choice((4, 5, 5)) if kind == "compliment" else rng.choice((1, 2, 2, 3))
        post = Post(channel, author, self.reach[author], self.when(d), text, product.id, rating=rating)
        if channel in ("reddit", "review"):
            post.title = self.voice.title(text)
        self.finish(post)

    # ---- articles --------------------------------------------------------------------------------
    def article(
        self, d: int, kind: str, product: Product, *, channel: str = "news", author: str | None = None
    ) -> Post:
        brand = BRAND_OF[product.id]
        title_t, paras_t = language.NEWS_TEMPLATES[kind]
        extra = {"weekday": self.day(d).strftime("%A")}
        other = self.other_product(product)
        title = self.voice.fill(title_t, product, brand=brand.name, other=other, **extra)
        paras = [self.voice.fill(p, product, brand=brand.name, other=other, **extra) for p in paras_t]
        extra |= {
            "store": self.rng.choice(language.STORES),
            "month": self.rng.choice(language.MONTHS),
            "person": self.rng.choice(language.PEOPLE),
            "city": self.rng.choice(language.CITIES),
        }
        body = [
            self.voice.fill(p, product, brand=brand.name, other=other, **extra)
            for p in self.rng.sample(language.ARTICLE_EXTRAS, 3)
        ]
        body.append(
            self.voice.fill(self.rng.choice(language.QUOTES), product, brand=brand.name, other=other, **extra)
        )
        self.rng.shuffle(body)
        paras = [paras[0], *body[:2], *paras[1:], *body[2:]]
        writer = author or self.rng.choice(
            ("Maya Lindqvist", "Oren Patel", "Sofia Marchetti", "James Whitfield")
        )
        post = Post(
            channel,
            writer,
            0,
            self.when(d, hours=(7.0, 18.0)),
            " ".join(paras),
            product.id,
            title=title,
            paragraphs=paras,
        )
        return self.add(post)

    def articles(self) -> None:
        kinds = ("review", "roundup", "company", "review", "roundup")
        for d in range(self.days):
            if self.day(d).weekday() < 5 and self.rng.random() < 0.8:
                product = self.rng.choice(
                    [p for p in PRODUCTS.values() if p.id != "zephyr-airchef-x" or d > self.launch_day]
                )
                kind = self.rng.choice(kinds)
                if kind == "company":
                    product = self.rng.choice(BRANDS).products[0]
                self.article(d, kind, product)
            if self.day(d).weekday() in (1, 4):
                product = self.rng.choice(
                    [p for p in PRODUCTS.values() if p.id != "zephyr-airchef-x" or d > self.launch_day]
                )
                self.article(
                    d,
                    "review",
                    product,
                    channel="blog",
                    author=self.rng.choice(("Kitchen Nerd", "The Tidy Home")),
                )

    def syndicate(self) -> None:
        """The blog republishes a few news stories word for word (with a credit line): syndicated copies."""
        news = [p for p in self.posts if p.channel == "news"]
        picks = [p for p in news if p.scenario in ("safety", "launch")]
        rest = [p for p in news if p not in picks]
        picks += self.rng.sample(rest, min(3, len(rest)))
        for i, original in enumerate(picks):
            group = f"syndication-{i + 1}"
            original.copy_group = group
            credit = "This article first appeared in Appliance Times and is republished with permission."
            copy = Post(
                "blog",
                original.author,
                0,
                original.published + timedelta(hours=self.rng.randint(2, 20)),
                original.text + " " + credit,
                original.product,
                title=original.title,
                paragraphs=[*original.paragraphs, credit],
                copy_group=group,
            )
            if copy.published.date() <= self.day(self.days - 1):
                self.add(copy)
            else:
                original.copy_group = None

    # ---- planted scenarios ------------------------------------------------------------------------
    def leaders_baseline(self) -> None:
        """Opinion leaders post a couple of times a week all along, so they are known before the event."""
        for leader in LEADERS:
            for d in range(self.days):
                if self.rng.random() < 0.3:
                    product = self.rng.choice(list(PRODUCTS.values())[:4] + list(PRODUCTS.values())[4:6])
                    if product.id == "zephyr-airchef-x" and d <= self.launch_day:
                        continue
                    brand = BRAND_OF[product.id]
                    kind = self.rng.choice(("compliment", "question", "chatter", "compliment"))
                    text = self.voice.say(
                        kind, "product", product, brand=brand.name, other=self.other_product(product)
                    )
                    self.add(Post("mastodon", leader.handle, leader.reach, self.when(d), text, product.id))

    def safety(self) -> Scenario:
        product = PRODUCTS["acme-steampro"]
        span = min(14, max(3, self.days // 2))
        first = self.days - span
        used: set[str] = set()
        items = 0
        channels = set()
        thread: str | None = None
        for k in range(span):
            n = round(1 + 0.6 * k * 14 / span)
            for _ in range(n):
                author = self.fresh_person(used)
                text = self.voice.roughen(
                    self.voice.fill(self.rng.choice(language.SAFETY), product, brand="Acme", other=""),
                    mood="complaint",
                )
                channel = self.rng.choice(("forum", "forum", "reddit", "mastodon", "mastodon", "review"))
                post = Post(
                    channel,
                    author,
                    self.reach[author],
                    self.when(first + k),
                    text,
                    product.id,
                    scenario="safety",
                )
                title = self.voice.fill(
                    self.rng.choice(language.SAFETY_TITLES), product, brand="Acme", other=""
                )
                if channel in ("reddit", "review"):
                    post.title = title
                if channel == "review":
                    post.rating = 1
                if channel == "forum":
                    if thread is None or self.rng.random() < 0.25:
                        thread = self.add(post, new_thread_title=title).thread
                    else:
                        self.add(post, thread=thread)
                else:
                    self.add(post)
                items += 1
                channels.add(channel)
        news = self.article(self.days - 2, "safety", product)
        news.scenario = "safety"
        channels.add("news")
        return Scenario(
            name="steampro-safety",
            kind="shift",
            ticket_type="product",
            entity=product.id,
            metric="safety_count",
            start=datetime.combine(self.day(first), time(0), tzinfo=UTC),
            end=None,
            description=f"{product.name}: overheating, burns, a fire and recall questions build over the last {span} days "
            "from many distinct owners on several sources",
            items=items + 1,
            authors=sorted(used),
            sources=sorted(channels),
        )

    def launch(self) -> Scenario:
        product = PRODUCTS["zephyr-airchef-x"]
        d0 = self.launch_day
        news = self.article(d0, "launch", product)
        news.scenario = "launch"
        authors: set[str] = set()
        channels = {"news"}
        items = 1
        for d in range(d0, self.days):
            for _ in range(max(3, round(self.rng.gauss(9, 2)))):
                author = self.person()
                authors.add(author)
                text = self.voice.roughen(
                    self.voice.fill(self.rng.choice(language.LAUNCH), product, brand=ZEPHYR.name, other=""),
                    mood="compliment",
                )
                channel = _pick(self.rng, _BACKGROUND_CHANNELS)
                post = Post(
                    channel, author, self.reach[author], self.when(d), text, product.id, scenario="launch"
                )
                if channel in ("reddit", "review"):
                    post.title = self.voice.title(text)
                if channel == "review":
                    post.rating = self.rng.choice((3, 4, 4, 5, 5))
                self.finish(post)
                items += 1
                channels.add(channel)
        return Scenario(
            name="airchef-x-launch",
            kind="shift",
            ticket_type="competitor",
            entity=product.id,
            metric="volume",
            start=datetime.combine(self.day(d0), time(0), tzinfo=UTC),
            end=None,
            description=f"{ZEPHYR.name} launches the {product.name}: a sustained rise in volume from launch day on",
            items=items,
            authors=sorted(authors),
            sources=sorted(channels),
        )

    def leader(self) -> Scenario:
        leader = LEADERS[0]
        product = PRODUCTS["acme-cleanbot"]
        d0 = int(self.days * 0.62)
        text = self.voice.fill(language.LEADER_POST, product, brand=ACME.name, other="")
        root = self.add(
            Post(
                "mastodon",
                leader.handle,
                leader.reach,
                self.when(d0, hours=(9.0, 10.0)),
                text,
                product.id,
                scenario="leader",
            )
        )
        blog = self.add(
            Post(
                "blog",
                leader.name,
                leader.reach,
                root.published + timedelta(hours=1),
                text,
                product.id,
                title=f"Why I can't recommend the {product.name} anymore",
                paragraphs=[text, "Update: several readers confirmed the same paywall on their units."],
                scenario="leader",
            )
        )
        root.copy_group = blog.copy_group = "leader-cross-post"
        news = self.article(min(self.days - 1, d0 + 1), "subscription", product)
        news.scenario = "leader"
        used: set[str] = set()
        channels = {"mastodon", "blog", "news"}
        items = 3
        for k in range(1, self.days - d0):
            # a burst of echoes that settles at a new, higher level: opinion moved and stays moved
            n = max(1, round(self.rng.gauss(2 + 5 * math.exp(-k / 5), 1.0)))
            for _ in range(n):
                author = self.fresh_person(used)
                leader_name = self.rng.choice(
                    (leader.name, f"@{leader.handle}", leader.name, leader.name.split()[0])
                )
                echo = self.voice.fill(
                    self.rng.choice(language.ECHO), product, brand=ACME.name, other="", leader=leader_name
                )
                echo = self.voice.roughen(echo, mood="complaint")
                channel = self.rng.choice(("mastodon", "mastodon", "reddit", "forum", "forum"))
                post = Post(
                    channel,
                    author,
                    self.reach[author],
                    self.when(d0 + k),
                    echo,
                    product.id,
                    scenario="leader",
                )
                if channel == "mastodon" and self.rng.random() < 0.5:
                    post.reply_to = root
                if channel == "reddit":
                    post.title = self.voice.title(echo)
                self.finish(post)
                items += 1
                channels.add(channel)
        return Scenario(
            name="leader-cleanbot-subscription",
            kind="shift",
            ticket_type="opinion_leader",
            entity=leader.id,
            metric="volume",  # mentions of her jump and stay up; they are mostly negative about the product
            start=root.published,
            end=None,
            description=f"watched opinion leader {leader.name} (@{leader.handle}, {leader.reach} followers) slams the "
            f"{product.name} subscription; many owners echo her, a burst that settles at a sustained higher level",
            items=items,
            authors=sorted({leader.handle, *used}),
            sources=sorted(channels),
        )

    def rant(self) -> Scenario:
        product = PRODUCTS["acme-breezefan"]
        d0 = int(self.days * 0.5)
        author = "furious_fred"
        self.reach[author] = 40
        thread: str | None = None
        channels = set()
        n = 9
        for i in range(n):
            text = self.voice.fill(language.RANT[i % len(language.RANT)], product, brand="Acme", other="")
            published = self.when(d0, hours=(19.0, 23.5))
            channel = ("forum", "forum", "forum", "forum", "reddit", "review", "forum", "reddit", "forum")[i]
            post = Post(channel, author, 40, published, text, product.id, scenario="rant")
            if channel in ("reddit", "review"):
                post.title = "BreezeFan = garbage" if channel == "reddit" else "WORST FAN EVER"
            if channel == "review":
                post.rating = 1
            if channel == "forum":
                if thread is None:
                    thread = self.add(post, new_thread_title="I HATE MY BREEZEFAN").thread
                else:
                    self.add(post, thread=thread)
            else:
                self.add(post)
            channels.add(channel)
        return Scenario(
            name="breezefan-rant",
            kind="blip",
            ticket_type=None,
            entity=product.id,
            metric="negative_share",
            start=datetime.combine(self.day(d0), time(0), tzinfo=UTC),
            end=datetime.combine(self.day(d0 + 1), time(0), tzinfo=UTC),
            description=f"one angry owner ({author}) posts {n} furious messages about the {product.name} in one evening",
            items=n,
            authors=[author],
            sources=sorted(channels),
        )

    def bots(self) -> Scenario:
        product = PRODUCTS["novaline-robovac"]
        d0 = int(self.days * 0.35)
        bots = ["best_dealz_4u", "hot-vac-deals", "promo_king_22", "dealhunter_bot", "save-big-now"]
        start = datetime.combine(self.day(d0), time(13, 0), tzinfo=UTC)
        n = 28
        channels = set()
        for i in range(n):
            author = bots[i % len(bots)]
            text = language.SPAM.format(
                alias=self.rng.choice(("Novaline RoboVac", "RoboVac", "NOVALINE ROBOVAC")),
                pct=self.rng.choice((60, 65, 70)),
                code=self.rng.choice(("x7", "x7", "z9")),
                tag="robovac",
            )
            channel = "mastodon" if i % 3 else "reddit"
            post = Post(
                channel,
                author,
                self.rng.randint(0, 12),
                start + timedelta(minutes=self.rng.randint(0, 170)),
                text,
                product.id,
                scenario="bots",
            )
            post.copy_group = "robovac-bot-spam"
            if channel == "reddit":
                post.title = f"{product.name} {self.rng.choice((60, 65, 70))}% OFF!!!"
            self.add(post)
            channels.add(channel)
        return Scenario(
            name="robovac-bot-burst",
            kind="blip",
            ticket_type=None,
            entity=product.id,
            metric="volume",
            start=start,
            end=start + timedelta(hours=3),
            description=f"{len(bots)} spam accounts post {n} near-identical deal messages about the {product.name} within three hours",
            items=n,
            authors=bots,
            sources=sorted(channels),
        )

    def weekly(self) -> Scenario:
        return Scenario(
            name="weekend-rhythm",
            kind="blip",
            ticket_type=None,
            entity=ACME.id,
            metric="volume",
            start=datetime.combine(self.start, time(0), tzinfo=UTC),
            end=None,
            description="background volume is about 40% higher on Saturdays and Sundays, every week: a known rhythm, not a shift",
        )


def generate_market(seed: int, start: date, days: int) -> Market:
    """All posts of a market of `days` days starting on `start`, with the planted scenarios' truth."""
    if days < 7:
        raise ValueError(f"a demo market needs at least 7 days to plant its scenarios, got days={days}")
    g = _Generator(seed, start, days)
    g.background()
    g.articles()
    g.leaders_baseline()
    scenarios = [g.safety(), g.launch(), g.leader(), g.rant(), g.bots(), g.weekly()]
    g.syndicate()
    end = start + timedelta(days=days - 1)
    posts = sorted(g.posts, key=lambda p: (p.published, p.channel, p.author, p.text))
    for i, post in enumerate(posts):
        post.uid = f"{i + 1:05d}"
    return Market(
        seed=seed, start=start, end=end, posts=posts, scenarios=scenarios, thread_titles=g.thread_titles
    )


__all__ = ["CHANNELS", "Market", "Post", "catalog", "generate_market"]
