"""Deduplication: the same page under two URLs, syndicated copies and bot spam collapse into one mention.

Two mentions are copies when they share a canonical URL (from different sources; within one source the
canonical URL already gives the same id) or when their texts are near-identical *including their facts*:
MinHash signatures of character 5-gram shingles over normalised text (lower-cased, URLs, @handles and
digits masked, punctuation dropped) give candidates from LSH, confirmed by estimated Jaccard >=
`threshold` (0.75, 128 permutations), then by a fact guard: the two texts are aligned word by word
(difflib) and a short substitution (at most `FACT_SPAN` words on each side) that swaps one number for
another ("model 3" / "model 7", "$19.99" / "$24.99", "2-1" / "3-0") or one name for another (a
capitalised word inside a sentence: "Arsenal" / "Chelsea", "March" / "April"; typos such as
"Acme" / "Acem" excepted) makes them two documents. Boilerplate added or replaced at either end
(a byline, "(c) 2026 Daily Bulletin", "Read more") is a long or one-sided change, not a substitution,
so syndicated copies still collapse; bot spam whose links, handles, hashtags or emoji change still
collapses. Quoted text (lines starting with ">", "X wrote:" headers) is not a post's own text and is
dropped before comparing, so a forum reply quoting a post is not a copy of it.
`Deduplicator(facts_count=False)` is the earlier behaviour (digits masked, no fact guard, quotes kept),
kept for the benchmark's comparison.
Texts shorter than `min_chars` (40) after normalisation are never merged on text: "Love it!" from fifty
people is fifty mentions, not spam. An opinion guard keeps near-identical texts apart when what differs
between them flips the opinion: the words one text has and the other lacks carry opposite polarity
(VADER's lexicon, e.g. "great" vs "terrible"), or a negation appears on one side only ("works" vs
"does not work"). Spam templates and syndicated copies differ in masked links/handles/numbers,
boilerplate added on one side, synonyms or typos, so the guard leaves them merged.

Representatives are deterministic: within a batch the earliest published copy (then the smallest id)
is kept and its `duplicate_count` is the sum of the copies' counts; `raw["duplicate_ids"]` lists the
absorbed ids (up to 5,000: a bot burst's copies beyond that are counted but not listed). Across runs the choice is "re-check against the store": the first `dedup` call with a
store indexes the mentions the store holds from the last `window_days` (30) days, so a copy collected
tomorrow of an item stored today is absorbed into the stored one (whose count is raised and which is
returned for upsert). A stored mention stays the representative even when a late copy is older, so ids
already written never disappear. The index lives as long as the `Deduplicator`; `collect_all` uses one
for the whole run, so the store is read once.

Re-collected items (same id as a stored mention) are not copies: the stored mention is returned with the
fresh engagement counts (likes, shares, replies, author reach) and everything else kept, so NLP
enrichment and duplicate counts survive re-crawls. A copy absorbed earlier (its id listed by a stored
representative, or absorbed earlier in this run) that is collected again is not counted again either,
so re-crawling the same pages leaves every `duplicate_count` as it was.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from typing import Self

import numpy as np
from datasketch import MinHash, MinHashLSH

from groundswell.config import Config
from groundswell.mention import Mention
from groundswell.store.base import Filters, Store

logger = logging.getLogger(__name__)

__all__ = [
    "DedupResult",
    "Deduplicator",
    "FactToken",
    "fact_tokens",
    "facts_differ",
    "normalise_for_dedup",
    "opinion_differs",
    "own_text",
]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"[@#]\w+")
_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[^\w]+")
_ENGAGEMENT = ("likes", "shares", "replies", "author_reach")
_NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "neither", "nothing", "nobody", "none", "cannot", "without", "t", "nt"}
)
_LEXICON: dict[str, float] | None = None


def _lexicon() -> dict[str, float]:
    """Word -> polarity from VADER's lexicon (read once; empty when the package is missing)."""
    global _LEXICON
    if _LEXICON is None:
        from importlib import resources

        lexicon: dict[str, float] = {}
        try:
            text = (
                (resources.files("vaderSentiment") / "vader_lexicon.txt")
                .read_bytes()
                .decode("utf-8", "replace")
            )
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            logger.warning("opinion guard disabled: VADER lexicon not available (%s)", exc)
            text = ""
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0].isalpha():
                try:
                    lexicon[parts[0].lower()] = float(parts[1])
                except ValueError:
                    continue
        _LEXICON = lexicon
    return _LEXICON


def opinion_differs(a: str, b: str) -> bool:
    """True when the words that differ between two normalised texts flip polarity or negation."""
    ca, cb = Counter(a.split()), Counter(b.split())
    only_a, only_b = ca - cb, cb - ca
    if sum(n for w, n in only_a.items() if w in _NEGATIONS) != sum(
        n for w, n in only_b.items() if w in _NEGATIONS
    ):
        return True
    lexicon = _lexicon()
    signs_a = {lexicon[w] > 0 for w in only_a if lexicon.get(w)}
    signs_b = {lexicon[w] > 0 for w in only_b if lexicon.get(w)}
    return any(sa != sb for sa in signs_a for sb in signs_b)


MAX_LISTED_DUPLICATES = 5000  # absorbed ids listed per representative (~22 bytes each in JSON)
FACT_SPAN = 3  # longest substitution (words per side) read as a changed fact rather than changed boilerplate
_QUOTE_LINE = re.compile(r"^[ \t]*(?:>|&gt;).*$", re.M)
_QUOTE_HEADER = re.compile(
    r"^[ \t]*(?:(?:quote|quoting)\b(?:[ \t]+(?:from[ \t]+)?[^\n:]{1,40})?[ \t]*:?|[^\n]{1,60}\b(?:wrote|said|posted)[ \t]*:)[ \t]*$",
    re.M | re.I,
)
_FACT_WORD = re.compile(r"[^\W_]+(?:[.,:/'’-][^\W_]+)*")
_SENTENCE_END = frozenset('.!?:;\n"“”(—–|')
FactToken = tuple[str, str, bool]  # (lower-cased word, "num" | "name" | "cap" | "", opens a sentence)


def own_text(text: str) -> str:
    """The text without quoted lines ("> ...") and quote headers ("alice wrote:"): what the author wrote."""
    if ">" not in text and ":" not in text:
        return text
    return _QUOTE_HEADER.sub(" ", _QUOTE_LINE.sub(" ", text))


def fact_tokens(text: str) -> list[FactToken]:
    """Words of `text` (URLs and handles removed), each marked as a number, a name or neither.

    A number is any word with a digit ("3", "x200", "19.99", "2-1"). A name is a capitalised word that
    does not open a sentence ("cap" when it does: a name only where the sentence goes on after it),
    read only when the text is not shouting (mostly upper case).
    """
    text = _HANDLE.sub(" ", _URL.sub(" ", text))
    letters = [c for c in text if c.isalpha()]
    shouting = bool(letters) and sum(c.isupper() for c in letters) > 0.6 * len(letters)
    tokens: list[FactToken] = []
    for match in _FACT_WORD.finditer(text):
        word = match.group()
        before = text[: match.start()].rstrip(" \t")
        initial = not before or before[-1] in _SENTENCE_END
        if any(c.isdigit() for c in word):
            kind = "num"
        elif not shouting and word[0].isupper():
            kind = "cap" if initial else "name"
        else:
            kind = ""
        tokens.append((word.lower(), kind, initial))
    return tokens


def _same_name(a: str, b: str) -> bool:
    """Two spellings of one name (a typo), not two names."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.75


def _names(tokens: Sequence[FactToken], i1: int, i2: int) -> list[str]:
    goes_on = i2 < len(tokens) and not tokens[i2][2]  # the sentence continues after the span
    return [w for w, k, _ in tokens[i1:i2] if k == "name" or (k == "cap" and goes_on)]


def facts_differ(a: Sequence[FactToken], b: Sequence[FactToken], *, span: int = FACT_SPAN) -> bool:
    """True when a short substitution between two aligned texts swaps a number or a name for another one.

    Numbers count anywhere (a price at the end of a list is a fact); names count inside the text and at
    its start when the sentence goes on ("Arlington beat ..."), not in a replaced byline or footer.
    """
    words_a, words_b = [t[0] for t in a], [t[0] for t in b]
    matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace" or i2 - i1 > span or j2 - j1 > span:
            continue
        nums_a = "".join(c for w, k, _ in a[i1:i2] if k == "num" for c in w if c.isalnum())
        nums_b = "".join(c for w, k, _ in b[j1:j2] if k == "num" for c in w if c.isalnum())
        if nums_a and nums_b and nums_a != nums_b:  # "19.99" and "19!99" are one price split differently
            return True
        if i2 >= len(a) or j2 >= len(b) or (i1 == 0) != (j1 == 0):
            continue  # a replaced tail (footer) or a byline on one side only
        names_a, names_b = _names(a, i1, i2), _names(b, j1, j2)
        if names_a and names_b and not all(any(_same_name(x, y) for y in names_b) for x in names_a):
            return True
    return False


def shingle_hashes(text: str, k: int) -> np.ndarray:
    """Distinct 32-bit hashes of the character k-grams of `text`, computed vectorised (no per-shingle Python)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(k):  # polynomial rolling hash, wrapping in 64 bits
        h = h * np.uint64(1_000_003) + codes[j : j + n]
    h ^= h >> np.uint64(29)  # splitmix-style finaliser so that low bits depend on every character
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return np.unique(h & np.uint64(0xFFFFFFFF))


def normalise_for_dedup(text: str) -> str:
    """Lower-case text with URLs, handles/hashtags and numbers masked and punctuation removed."""
    text = _URL.sub(" ", text.lower())
    text = _HANDLE.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass
class DedupResult:
    """What to upsert after dedup, and what was collapsed."""

    mentions: list[Mention] = field(default_factory=list)
    duplicates: int = 0  # incoming mentions absorbed into another one
    by_url: int = 0
    by_text: int = 0
    refreshed: int = 0  # incoming mentions that were already stored (engagement refreshed)
    recollected: int = 0  # incoming copies absorbed by an earlier run or batch (not counted again)
    new: int = 0  # incoming mentions that are new representatives


def _get_many(store: Store, ids: list[str], chunk: int = 500) -> list[Mention]:
    """store.get_mentions in chunks (SQLite caps the number of bound parameters per statement)."""
    found: list[Mention] = []
    for start in range(0, len(ids), chunk):
        found.extend(store.get_mentions(ids[start : start + chunk]))
    return found


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


class Deduplicator:
    """Collapse copies by canonical URL and near-duplicate text (see the module docstring)."""

    def __init__(
        self,
        *,
        threshold: float = 0.75,
        num_perm: int = 128,
        shingle_size: int = 5,
        min_chars: int = 40,
        window_days: float = 30.0,
        seed: int = 1,
        facts_count: bool = True,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"dedup threshold must be in (0, 1], got {threshold}")
        if num_perm < 16:
            raise ValueError(f"num_perm must be >= 16, got {num_perm}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.min_chars = min_chars
        self.window = timedelta(days=window_days)
        self.seed = seed
        self.facts_count = facts_count
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._sigs: dict[str, MinHash] = {}
        self._texts: dict[str, str] = {}  # id -> normalised text, for the opinion guard
        self._own: dict[str, str] = {}  # id -> the author's own text, for the fact guard
        self._urls: dict[str, str] = {}  # canonical URL -> id of the indexed mention
        self._stored: set[str] = set()  # ids known to be in the store
        self._rep: dict[str, str] = {}  # id of an absorbed copy indexed earlier -> its representative
        self._indexed_store = False
        self._perm_template = MinHash(num_perm=num_perm, seed=seed)

    @classmethod
    def from_settings(cls, config: Config) -> Self:
        # The configuration has no dedup section yet; the defaults are documented above.
        return cls()

    # ---- signatures -----------------------------------------------------------------------
    def _own_text(self, mention: Mention) -> str:
        text = f"{mention.title}\n{mention.text}" if mention.title not in mention.text else mention.text
        return own_text(text) if self.facts_count else text

    def _normalised(self, mention: Mention, own: str | None = None) -> str:
        return normalise_for_dedup(self._own_text(mention) if own is None else own)

    def signature(self, mention: Mention, text: str | None = None) -> MinHash | None:
        """The MinHash of the mention's normalised title + text; None when the text is too short to judge."""
        text = self._normalised(mention) if text is None else text
        if len(text) < self.min_chars:
            return None
        sig = MinHash(num_perm=self.num_perm, seed=self.seed, hashfunc=int,
                      permutations=self._perm_template.permutations, scheme=self._perm_template.scheme)  # fmt: skip
        sig.update_batch(shingle_hashes(text, self.shingle_size).tolist())
        return sig

    def _index(self, mention_id: str, canonical: str, sig: MinHash | None, text: str, own: str) -> None:
        self._urls.setdefault(canonical, mention_id)
        if sig is not None and mention_id not in self._sigs:
            self._sigs[mention_id] = sig
            self._texts[mention_id] = text
            if self.facts_count:
                self._own[mention_id] = own
            self._lsh.insert(mention_id, sig)

    def index_store(self, store: Store, *, now: datetime | None = None) -> int:
        """Index the stored mentions published within the window; returns how many were indexed."""
        start = (now or datetime.now(UTC)) - self.window
        count = 0
        for mention in store.iter_mentions(Filters(start=start)):
            self._stored.add(mention.id)
            for copy_id in mention.raw.get("duplicate_ids", ()):  # absorbed by an earlier run
                self._rep.setdefault(copy_id, mention.id)
            own = self._own_text(mention)
            text = self._normalised(mention, own)
            self._index(mention.id, mention.canonical_url, self.signature(mention, text), text, own)
            count += 1
        self._indexed_store = True
        logger.info("dedup: indexed %d stored mentions published since %s", count, start.date())
        return count

    def _matches(
        self, mention: Mention, sig: MinHash | None, text: str, own: str
    ) -> tuple[list[str], list[str]]:
        by_url = [i for i in [self._urls.get(mention.canonical_url)] if i is not None and i != mention.id]
        by_text: list[str] = []
        facts: list[FactToken] | None = None
        if sig is not None:
            for cand in sorted(self._lsh.query(sig)):
                if cand == mention.id or self._sigs[cand].jaccard(sig) < self.threshold:
                    continue
                if opinion_differs(self._texts[cand], text):
                    continue
                if self.facts_count:
                    facts = fact_tokens(own) if facts is None else facts
                    if facts_differ(fact_tokens(self._own[cand]), facts):
                        continue
                by_text.append(cand)
        return by_url, by_text

    # ---- the operation --------------------------------------------------------------------
    def dedup(self, mentions: Iterable[Mention], store: Store | None = None) -> DedupResult:
        """Collapse copies among `mentions` and against the store; returns the mentions to upsert."""
        result = DedupResult()
        incoming: dict[str, Mention] = {}
        for m in mentions:  # the same item twice in one batch (e.g. on two pages) is one item
            incoming[m.id] = m
        if store is not None and not self._indexed_store:
            self.index_store(store)
        stored_now: dict[str, Mention] = {}
        if store is not None and incoming:
            stored_now = {m.id: m for m in _get_many(store, list(incoming))}
        out: dict[str, Mention] = {}
        for mention_id, fresh in incoming.items():
            if mention_id in stored_now:
                old = stored_now[mention_id]
                changes = {f: getattr(fresh, f) for f in _ENGAGEMENT if getattr(fresh, f) != getattr(old, f)}
                if changes:
                    out[mention_id] = old.model_copy(update=changes)
                result.refreshed += 1
                self._stored.add(mention_id)
            elif mention_id in self._rep:  # a copy absorbed earlier, collected again: counted already
                result.recollected += 1
        new = sorted(
            (m for i, m in incoming.items() if i not in stored_now and i not in self._rep),
            key=lambda m: (m.published, m.id),
        )
        uf = _UnionFind()
        members: dict[str, Mention] = {}
        for m in new:
            own = self._own_text(m)
            text = self._normalised(m, own)
            sig = self.signature(m, text)
            by_url, by_text = self._matches(m, sig, text, own)
            uf.find(m.id)
            members[m.id] = m
            for other in dict.fromkeys(self._rep.get(o, o) for o in (*by_url, *by_text)):
                # union towards the earlier root: stored mentions first, then earliest published
                ra, rb = uf.find(other), uf.find(m.id)
                if ra != rb:
                    if self._rank(rb, members) < self._rank(ra, members):
                        ra, rb = rb, ra
                    uf.parent[rb] = ra
            if by_url or by_text:
                result.duplicates += 1
                if by_url:
                    result.by_url += 1
                else:
                    result.by_text += 1
            self._index(m.id, m.canonical_url, sig, text, own)
        clusters: dict[str, list[Mention]] = {}
        for m in new:
            clusters.setdefault(uf.find(m.id), []).append(m)
        for root, group in clusters.items():
            for m in group:
                if m.id != root:
                    self._rep[m.id] = root
        stored_roots = [root for root in clusters if root not in members]
        stored_reps = (
            {m.id: m for m in _get_many(store, stored_roots)} if store is not None and stored_roots else {}
        )
        for root, group in clusters.items():
            if root in members:
                rep = members[root]
                copies = [m for m in group if m.id != root]
                if copies:
                    rep = self._absorb(rep, copies)
                out[rep.id] = rep
                result.new += 1
            else:
                base = out.get(root) or stored_reps.get(root)
                if base is None:  # indexed earlier in this run but not written (yet): keep the copies
                    logger.warning(
                        "dedup: representative %s is not in the store; keeping %d copies", root, len(group)
                    )
                    for m in group:
                        out[m.id] = m
                        result.new += 1
                    result.duplicates -= len(group)
                    continue
                out[root] = self._absorb(base, group)
        result.mentions = list(out.values())
        if result.duplicates:
            logger.info(
                "dedup: %d copies collapsed (%d by URL, %d by text)",
                result.duplicates,
                result.by_url,
                result.by_text,
            )
        return result

    def representative_of(self, mention_id: str) -> str:
        """The id of the mention a copy was absorbed into (itself when it was not absorbed).

        Complete, unlike `raw["duplicate_ids"]`, which lists at most MAX_LISTED_DUPLICATES copies.
        """
        return self._rep.get(mention_id, mention_id)

    def _rank(self, mention_id: str, members: dict[str, Mention]) -> tuple[int, datetime, str]:
        if mention_id not in members:  # stored (or indexed earlier in this run): it wins
            return (0, datetime.min.replace(tzinfo=UTC), mention_id)
        m = members[mention_id]
        return (1, m.published, m.id)

    @staticmethod
    def _absorb(rep: Mention, copies: Sequence[Mention]) -> Mention:
        listed = list(dict.fromkeys([*rep.raw.get("duplicate_ids", []), *(c.id for c in copies)]))
        listed = listed[:MAX_LISTED_DUPLICATES]
        return rep.model_copy(
            update={
                "duplicate_count": rep.duplicate_count + sum(c.duplicate_count for c in copies),
                "raw": {**rep.raw, "duplicate_ids": listed},
            }
        )
