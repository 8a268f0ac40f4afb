"""Small text helpers shared by the store backends, the trend detector and the brief."""

from __future__ import annotations

import re
from functools import cache

# Words that carry no signal in social text on top of the usual English stop words.
_SOCIAL_STOP = {
    "just",
    "like",
    "really",
    "got",
    "get",
    "im",
    "dont",
    "didnt",
    "doesnt",
    "cant",
    "wont",
    "ive",
    "thats",
    "amp",
    "http",
    "https",
    "www",
    "com",
    "lol",
    "yeah",
    "gonna",
    "wanna",
    "did",
    "does",
    "know",
    "think",
    "thing",
    "things",
    "say",
    "said",
    "way",
    "going",
    "make",
    "new",
    "one",
    "time",
    "day",
    "today",
}


@cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words plus the social ones; imported on first use (sklearn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | _SOCIAL_STOP


_WORD = re.compile(r"[a-z][a-z0-9'-]{2,}")


def tokens(text: str) -> list[str]:
    """Lower-cased words of three letters or more, without stop words or URLs."""
    text = re.sub(r"https?://\S+", " ", text.lower())
    stop = stop_words()
    return [
        w.strip("'-") for w in _WORD.findall(text) if w.strip("'-") not in stop and len(w.strip("'-")) > 2
    ]


def significance(fg_count: int, fg_total: int, bg_count: int, bg_total: int) -> float:
    """JLH score (Elasticsearch's significant_terms default): (fg% - bg%) * (fg% / bg%).

    The background always contains at least the foreground's share so that words never seen
    before score high but finite.
    """
    fg_pct = fg_count / max(fg_total, 1)
    bg_pct = max(bg_count, 1) / max(bg_total, 1)
    if fg_pct <= bg_pct:
        return 0.0
    return (fg_pct - bg_pct) * (fg_pct / bg_pct)
