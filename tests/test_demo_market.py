"""The demo market: deterministic, with its planted scenarios, a valid configuration, and a server that pages."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from groundswell.app.demo import append_forum_reply, build_market, demo_config, serve_market
from groundswell.app.demo.generate import generate_market
from groundswell.config import load_config, parse_config

END = date(2026, 3, 1)
ROOT = Path(__file__).resolve().parents[1]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("market")
    return root, build_market(root, seed=7, end=END, weeks=9)


def test_build_market_is_deterministic(tmp_path: Path) -> None:
    a = build_market(tmp_path / "a", seed=3, end=END, weeks=2)
    b = build_market(tmp_path / "b", seed=3, end=END, weeks=2)
    c = build_market(tmp_path / "c", seed=4, end=END, weeks=2)
    assert c != a
    assert a == b
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    assert json.loads((tmp_path / "a" / "truth.json").read_text()) == a.model_dump(mode="json")


def test_build_market_size_and_period(market: tuple[Path, object]) -> None:
    _, truth = market
    assert truth.start == END - timedelta(days=9 * 7 - 1) and truth.end == END
    assert 2500 <= truth.total_items <= 4000
    assert set(truth.items) == {"forum", "review", "news", "blog", "reddit", "mastodon"}
    assert all(n > 0 for n in truth.items.values())
    assert truth.authors > 300


def test_build_market_plants_every_scenario(market: tuple[Path, object]) -> None:
    _, truth = market
    by_name = {s.name: s for s in truth.scenarios}
    safety = by_name["steampro-safety"]
    assert (safety.kind, safety.ticket_type, safety.metric) == ("shift", "product", "safety_count")
    assert safety.start.date() >= END - timedelta(days=14)
    assert len(safety.authors) >= 30 and len(safety.sources) >= 3
    launch = by_name["airchef-x-launch"]
    assert (launch.kind, launch.ticket_type, launch.metric) == ("shift", "competitor", "volume")
    leader = by_name["leader-cleanbot-subscription"]
    assert leader.ticket_type == "opinion_leader" and leader.entity in truth.opinion_leaders
    assert len(leader.authors) > 20
    rant = by_name["breezefan-rant"]
    assert (rant.kind, rant.ticket_type, rant.authors) == ("blip", None, ["furious_fred"])
    assert rant.end - rant.start == timedelta(days=1)
    bots = by_name["robovac-bot-burst"]
    assert bots.kind == "blip" and bots.ticket_type is None and len(bots.authors) <= 6
    assert bots.end - bots.start <= timedelta(hours=3)
    assert by_name["weekend-rhythm"].kind == "blip"


def test_build_market_lists_planted_near_duplicates_that_exist(market: tuple[Path, object]) -> None:
    root, truth = market
    kinds = {g.kind for g in truth.near_duplicates}
    assert kinds == {"syndication", "cross_post", "bot_spam"}
    (spam,) = [g for g in truth.near_duplicates if g.kind == "bot_spam"]
    assert len(spam.paths) == next(s.items for s in truth.scenarios if s.name == "robovac-bot-burst")
    for group in truth.near_duplicates:
        assert len(group.paths) >= 2 and len(set(group.paths)) == len(group.paths)
    with serve_market(root) as base, httpx.Client(base_url=base) as client:
        for group in truth.near_duplicates:
            if group.kind == "syndication":
                original, copy = (client.get(p) for p in group.paths)
                assert original.status_code == copy.status_code == 200
                assert "first appeared in Appliance Times" in copy.text


def test_generate_market_weekly_rhythm_and_safety_build_up() -> None:
    market = generate_market(7, END - timedelta(days=62), 63)
    background = [p for p in market.posts if p.scenario is None]
    per_day = Counter(p.published.date() for p in background)
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) > 1.2 * sum(weekday) / len(weekday)
    safety = Counter(
        p.published.date() for p in market.posts if p.scenario == "safety" and p.channel != "news"
    )
    days = sorted(safety)
    first_half = sum(safety[d] for d in days[: len(days) // 2])
    second_half = sum(safety[d] for d in days[len(days) // 2 :])
    assert second_half > 1.5 * first_half  # it builds over days
    rant = [p for p in market.posts if p.scenario == "rant"]
    assert len({p.author for p in rant}) == 1 and len({p.published.date() for p in rant}) == 1


def test_generate_market_language_varies() -> None:
    texts = [p.text for p in generate_market(7, END - timedelta(days=62), 63).posts]
    assert any(any(ch in t for ch in "😍👍😡🙄🤔") for t in texts)  # emoji
    assert any(" teh " in f" {t} " or "realy" in t or "definately" in t for t in texts)  # typos
    assert any(t.endswith("?") or "? " in t for t in texts)  # questions
    assert sum(1 for t in texts if "Love that for me" in t or "Truly world class" in t) > 0  # sarcasm
    assert len(set(texts)) > 0.6 * len(texts)


def test_demo_config_validates(tmp_path: Path) -> None:
    config = parse_config(demo_config("http://127.0.0.1:9999", tmp_path))
    ids = {e.id for e in config.entities()}
    assert {"acme", "acme-steampro", "zephyr", "zephyr-airchef-x", "novaline-robovac", "dana-reyes"} <= ids
    assert "SteamPro" in config.entity("acme-steampro").aliases
    assert {t.id for t in config.teams} == {"product-safety", "competitive-intelligence", "communications"}
    assert all(s.url.startswith("http://127.0.0.1:9999") for s in config.sources)
    assert {s.kind for s in config.sources} >= {
        "forum",
        "review",
        "news",
        "rss",
        "reddit",
        "mastodon",
        "sitemap",
    }


def test_examples_config_is_the_demo_config() -> None:
    shipped = load_config(ROOT / "examples" / "groundswell.yaml")
    expected = parse_config(demo_config("http://127.0.0.1:8765", Path("groundswell-data")))
    assert shipped.model_dump(exclude={"base_dir"}) == expected.model_dump(exclude={"base_dir"})
    assert (
        yaml.safe_load((ROOT / "examples" / "groundswell.yaml").read_text())["data_dir"] == "groundswell-data"
    )


def test_serve_market_pages_reddit_listing(market: tuple[Path, object]) -> None:
    root, truth = market
    with serve_market(root) as base, httpx.Client(base_url=base) as client:
        names: list[str] = []
        created: list[float] = []
        after = None
        for _ in range(100):
            params = {"limit": 100} | ({"after": after} if after else {})
            listing = client.get("/r/HomeAppliances/new.json", params=params).json()
            assert listing["kind"] == "Listing"
            names += [c["data"]["name"] for c in listing["data"]["children"]]
            created += [c["data"]["created_utc"] for c in listing["data"]["children"]]
            assert all(c["kind"] == "t3" for c in listing["data"]["children"])
            after = listing["data"]["after"]
            if after is None:
                break
        assert len(names) == len(set(names)) == truth.items["reddit"]
        assert created == sorted(created, reverse=True)
        assert client.get("/r/nosuchsub/new.json").status_code == 404


def test_serve_market_pages_mastodon_by_link_header(market: tuple[Path, object]) -> None:
    root, truth = market
    with serve_market(root) as base, httpx.Client() as client:
        url = f"{base}/api/v1/timelines/tag/homeappliances?limit=40"
        ids: list[int] = []
        for _ in range(200):
            response = client.get(url)
            page = response.json()
            if not page:
                assert "link" not in response.headers
                break
            assert response.headers["link"].startswith(f"<{base}/")
            ids += [int(s["id"]) for s in page]
            url = response.links["next"]["url"]
        assert len(ids) == len(set(ids)) == truth.items["mastodon"]
        assert ids == sorted(ids, reverse=True)
        newer = client.get(
            f"{base}/api/v1/timelines/tag/homeappliances", params={"min_id": ids[10], "limit": 5}
        ).json()
        assert [int(s["id"]) for s in newer] == ids[5:10]
        leader = client.get(f"{base}/api/v1/accounts/lookup", params={"acct": "danareyes"}).json()
        assert leader["followers_count"] > 100_000
        own = client.get(f"{base}/api/v1/accounts/{leader['id']}/statuses").json()
        assert own and all(s["account"]["username"] == "danareyes" for s in own)


def test_serve_market_content_types_robots_and_revalidation(market: tuple[Path, object]) -> None:
    root, _ = market
    with serve_market(root) as base, httpx.Client(base_url=base) as client:
        robots = client.get("/robots.txt")
        assert "Disallow: /private/" in robots.text and f"Sitemap: {base}/sitemap.xml" in robots.text
        assert client.get("/news/feed.xml").headers["content-type"].startswith("application/rss+xml")
        assert client.get("/blog/atom.xml").headers["content-type"].startswith("application/atom+xml")
        sitemap = client.get("/sitemap.xml")
        assert (
            sitemap.headers["content-type"].startswith("application/xml") and f"<loc>{base}/" in sitemap.text
        )
        page = client.get("/forum/index.html")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert (
            client.get("/forum/index.html", headers={"If-None-Match": page.headers["etag"]}).status_code
            == 304
        )
        assert client.get("/no/such/page.html").status_code == 404
        assert client.get("/../../etc/passwd").status_code == 404


def test_append_forum_reply_adds_a_post_and_updates_the_list(tmp_path: Path) -> None:
    build_market(tmp_path, seed=1, end=END, weeks=2)
    model = json.loads((tmp_path / "_data" / "forum.json").read_text())
    thread = model["threads"][0]
    before = (tmp_path / "forum" / "index.html").read_text()
    from datetime import UTC, datetime

    post_id = append_forum_reply(
        tmp_path,
        thread["id"],
        author="late_reply",
        text="Me too!",
        published=datetime(2026, 3, 2, tzinfo=UTC),
    )
    after = (tmp_path / "forum" / "index.html").read_text()
    assert (
        before != after and f'data-thread-id="{thread["id"]}"' in after.split("</li>")[1]
    )  # now the newest thread
    pages = sorted((tmp_path / "forum").glob(f"thread-{thread['id']}*.html"))
    assert any(f'id="post-{post_id}"' in p.read_text() for p in pages)
    with pytest.raises(KeyError, match="no forum thread"):
        append_forum_reply(
            tmp_path, "t9999", author="x", text="y", published=datetime(2026, 3, 2, tzinfo=UTC)
        )


def test_build_market_is_deterministic_across_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = (
        "import sys; from datetime import date; from pathlib import Path; from groundswell.app.demo import build_market; "
        "build_market(Path(sys.argv[1]), seed=5, end=date(2026, 3, 1), weeks=1)"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            check=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    assert _files(tmp_path / "1") == _files(tmp_path / "2")
