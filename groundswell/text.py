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


# scikit-learn's English stop words (`sklearn.feature_extraction.text.ENGLISH_STOP_WORDS`, the Glasgow
# Information Retrieval Group's list), copied: importing scikit-learn for them cost every process that
# tokenises (the enrichment's topics) ~0.8 CPU-s. tests/test_nlp_topics_exact.py checks they are the same.
ENGLISH_STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone anything
    anyway anywhere are around as at back be became because become becomes becoming been before
    beforehand behind being below beside besides between beyond bill both bottom but by call can
    cannot cant co con could couldnt cry de describe detail do done down due during each eg
    eight either eleven else elsewhere empty enough etc even ever every everyone everything
    everywhere except few fifteen fifty fill find fire first five for former formerly forty
    found four from front full further get give go had has hasnt have he hence her here
    hereafter hereby herein hereupon hers herself him himself his how however hundred i ie if in
    inc indeed interest into is it its itself keep last latter latterly least less ltd made many
    may me meanwhile might mill mine more moreover most mostly move much must my myself name
    namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere
    of off often on once one only onto or other others otherwise our ours ourselves out over own
    part per perhaps please put rather re same see seem seemed seeming seems serious several she
    should show side since sincere six sixty so some somehow someone something sometime
    sometimes somewhere still such system take ten than that the their them themselves then
    thence there thereafter thereby therefore therein thereupon these they thick thin third this
    those though three through throughout thru thus to together too top toward towards twelve
    twenty two un under until up upon us very via was we well were what whatever when whence
    whenever where whereafter whereas whereby wherein whereupon wherever whether which while
    whither who whoever whole whom whose why will with within without would yet you your yours
    yourself yourselves
    """.split()
)


@cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words plus the social ones."""
    return ENGLISH_STOP_WORDS | _SOCIAL_STOP


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
