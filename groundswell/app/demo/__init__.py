"""The demo market: a seeded, realistic small web about home appliances, with the truth of what was planted.

- `build_market(out_dir, seed=7, end=..., weeks=9) -> MarketTruth` writes the static site and `truth.json`.
- `serve_market(root)` serves it on loopback (a context manager yielding the base URL).
- `demo_config(base_url, data_dir)` is the Groundswell configuration that points at it.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

from groundswell.app.demo.catalog import BRANDS, LEADERS
from groundswell.app.demo.config import demo_config
from groundswell.app.demo.generate import CHANNELS, Post, generate_market
from groundswell.app.demo.server import serve_market
from groundswell.app.demo.site import append_forum_reply, post_path, render_site
from groundswell.app.demo.truth import MarketTruth, NearDuplicates, Scenario

logger = logging.getLogger(__name__)


def _near_duplicates(posts: list[Post]) -> list[NearDuplicates]:
    groups: dict[str, list[str]] = {}
    for post in posts:
        if post.copy_group:
            groups.setdefault(post.copy_group, []).append(post_path(post))
    kinds = {"robovac-bot-spam": "bot_spam", "leader-cross-post": "cross_post"}
    return [
        NearDuplicates.model_validate({"name": name, "kind": kinds.get(name, "syndication"), "paths": paths})
        for name, paths in sorted(groups.items())
        if len(paths) > 1
    ]


def build_market(out_dir: Path, *, seed: int = 7, end: date, weeks: int = 9) -> MarketTruth:
    """Generate the demo market for the `weeks` weeks ending on `end` (inclusive) and write it under `out_dir`.

    Same seed and end date give the same bytes. Files of an earlier build in `out_dir` are replaced.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    days = weeks * 7
    start = end - timedelta(days=days - 1)
    market = generate_market(seed, start, days)
    files = render_site(market)
    out = Path(out_dir)
    for stale in ("forum", "reviews", "news", "blog", "api", "private", "_data"):
        if (out / stale).is_dir():
            shutil.rmtree(out / stale)
    counts = {channel: sum(1 for p in market.posts if p.channel == channel) for channel in CHANNELS}
    truth = MarketTruth(
        seed=seed,
        start=start,
        end=end,
        brands=[b.id for b in BRANDS if b.ours],
        competitors=[b.id for b in BRANDS if not b.ours],
        opinion_leaders=[leader.id for leader in LEADERS],
        scenarios=market.scenarios,
        items=counts,
        total_items=len(market.posts),
        authors=len({p.author for p in market.posts}),
        near_duplicates=_near_duplicates(market.posts),
    )
    files["truth.json"] = truth.model_dump_json(indent=2) + "\n"
    for rel, content in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    logger.info(
        "demo market: %d items, %d files, %s..%s, written to %s",
        len(market.posts),
        len(files),
        start,
        end,
        out,
    )
    return truth


__all__ = [
    "MarketTruth",
    "NearDuplicates",
    "Scenario",
    "append_forum_reply",
    "build_market",
    "demo_config",
    "serve_market",
]
