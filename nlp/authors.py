"""Opinion-leader score per author: reach, engagement, replies and shares by others, consistency across sources.

score = 100 * weighted mean of four components, each squashed to [0, 1) with log scaling so that
one huge account does not flatten everybody else:

- reach (0.35): the largest follower/subscriber count the sources report for the author;
- engagement (0.25): likes + shares + replies per mention;
- amplification (0.25): replies to the author's mentions written by *other* authors (found through
  `parent_id`) plus the shares and replies the sources report;
- consistency (0.15): the number of distinct sources and of distinct active days.

The documents go to the store's `authors` collection, id = author name.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

from groundswell.config import Config
from groundswell.store.base import Filters, Store

logger = logging.getLogger(__name__)

WEIGHTS = {"reach": 0.35, "engagement": 0.25, "amplification": 0.25, "consistency": 0.15}


def _squash(value: float, scale: float) -> float:
    """log-scaled to [0, 1): value == scale gives 0.5."""
    if value <= 0:
        return 0.0
    x = math.log1p(value) / math.log1p(scale)
    return x / (1 + x)


def score_authors(config: Config, store: Store, *, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Score every author of the matching mentions, write them to `authors`, return them best first."""
    watched = {
        handle.lstrip("@").lower(): person.id
        for person in config.opinion_leaders
        for handle in person.handles
    }
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "mentions": 0,
            "reach": 0,
            "likes": 0,
            "shares": 0,
            "replies": 0,
            "sources": set(),
            "days": set(),
            "ids": set(),
        }
    )
    parents: list[tuple[str, str]] = []  # (reply author, parent mention id)
    for m in store.iter_mentions(filters or Filters()):
        if not m.author:
            continue
        s = stats[m.author]
        s["mentions"] += 1
        s["reach"] = max(s["reach"], m.author_reach)
        s["likes"] += m.likes
        s["shares"] += m.shares
        s["replies"] += m.replies
        s["sources"].add(m.source)
        s["days"].add(m.published.date().isoformat())
        s["ids"].add(m.id)
        if m.parent_id:
            parents.append((m.author, m.parent_id))
    owner = {mid: author for author, s in stats.items() for mid in s["ids"]}
    replies_by_others: dict[str, int] = defaultdict(int)
    for reply_author, parent in parents:
        parent_author = owner.get(parent)
        if parent_author and parent_author != reply_author:
            replies_by_others[parent_author] += 1

    docs = []
    for author, s in stats.items():
        engagement = (s["likes"] + s["shares"] + s["replies"]) / s["mentions"]
        amplification = replies_by_others[author] + s["shares"] + s["replies"]
        components = {
            "reach": _squash(s["reach"], 10_000),
            "engagement": _squash(engagement, 50),
            "amplification": _squash(amplification, 100),
            "consistency": 0.5 * _squash(len(s["sources"]), 3) + 0.5 * _squash(len(s["days"]), 14),
        }
        score = 100 * sum(WEIGHTS[k] * v for k, v in components.items())
        person = watched.get(author.lstrip("@").lower())
        docs.append(
            {
                "author": author,
                "score": round(score, 2),
                "reach": s["reach"],
                "mentions": s["mentions"],
                "engagement": round(engagement, 2),
                "likes": s["likes"],
                "shares": s["shares"],
                "replies_received": replies_by_others[author] + s["replies"],
                "replies_by_others": replies_by_others[author],
                "sources": sorted(s["sources"]),
                "active_days": len(s["days"]),
                "components": {k: round(v, 4) for k, v in components.items()},
                "watched": person is not None,
                "person_id": person,
            }
        )
    docs.sort(key=lambda d: (-d["score"], d["author"]))
    for rank, doc in enumerate(docs, start=1):
        doc["rank"] = rank
    store.put_docs("authors", ((doc["author"], doc) for doc in docs))
    logger.info("scored %d authors (%d watched)", len(docs), sum(d["watched"] for d in docs))
    return docs
