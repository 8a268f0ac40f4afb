"""Dedup benchmark: precision/recall on planted near-duplicates built from real text, and throughput.

Real text: the UCI review sentences (`../shared/data/reviews`) and CPSC incident narratives
(`../shared/data/safety`). Planted copies, each group one true cluster:
- syndicated: a long narrative republished with different boilerplate (bylines, "Read more", copyright),
  changed case, punctuation and whitespace;
- spam: a review sentence posted by bots with the same price and varying links, @handles, hashtags and
  emoji (a different price is a different offer, so prices no longer vary inside a group);
- edited: a long narrative with a few typos (in words, not digits) or a dropped word.
Hard negatives that must NOT merge: review sentences with one opinion word swapped ("great" ->
"terrible") and CPSC narratives about the same product type. Everything else is a distinct mention.

A second table uses the seeded templated set of `crawlers.dedup_cases` (recall notices per model
number, price lists, match reports, forum replies quoting each other; syndicated copies with other
footers and bot spam with other links/emoji): "distinct kept" is the share of templated-but-distinct
documents left apart from every other document, "copies collapsed" the share of planted copies merged
into their group. Rows: the current dedup, the earlier setting (`facts_count=False`: digits masked,
no fact guard) and exact match of the text (case, punctuation, links and handles ignored, digits kept).
Run it on seeds that were not used to build the guard (1 and 2 were; report e.g. 101 102 103).

Scores are pairwise: precision = copies correctly put together / all pairs put together; recall =
copies correctly put together / all planted copy pairs. The baseline (same script, same data) merges
only exact matches of normalised text. Prints throughput (mentions/s) and peak memory; exits 1 when
the MinHash dedup falls below the pinned floors (precision 0.98, recall 0.90).

    .venv/bin/python benchmarks/bench_dedup.py [--seed 7] [--groups 150] [--templated-seeds 101 102 103]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import time
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.dedup import Deduplicator, normalise_for_dedup
from crawlers.dedup_cases import DedupCase, build_cases
from groundswell.mention import Mention
from groundswell.paths import shared_data_dir

FLOOR_PRECISION = 0.98
FLOOR_RECALL = 0.90
BOILERPLATE_BEFORE = [
    "Breaking:",
    "UPDATE —",
    "From our newsroom:",
    "Consumer alert.",
    "Reposted from SafetyWatch:",
    "",
]
BOILERPLATE_AFTER = [
    "Read more at our website.",
    "(c) 2026 Daily Bulletin. All rights reserved.",
    "Subscribe to our newsletter for more stories like this.",
    "Share this story with your friends.",
    "Originally published by the Consumer Desk.",
    "",
]
SWAPS = {
    "great": "terrible", "good": "bad", "love": "hate", "excellent": "awful", "best": "worst", "bad": "good",
    "terrible": "great", "worst": "best", "recommend": "avoid", "happy": "unhappy", "works": "fails", "poor": "fine",
    "disappointed": "delighted", "nice": "nasty", "awesome": "awful", "fast": "slow", "easy": "hard",
}  # fmt: skip


def load_texts(data: Path) -> tuple[list[str], list[tuple[str, str]]]:
    sentences: list[str] = []
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"):
        for line in (data / "reviews" / name).read_text(encoding="utf-8", errors="replace").splitlines():
            text = line.rsplit("\t", 1)[0].strip()
            if len(text.split()) >= 8:
                sentences.append(text)
    narratives: list[tuple[str, str]] = []
    with (data / "safety" / "cpsc_toys_incidents.csv").open(encoding="utf-8", errors="replace") as fh:
        next(fh)  # disclaimer line
        for row in csv.DictReader(fh):
            text = " ".join((row.get("Incident Description") or "").split())
            if len(text) >= 250:
                narratives.append((row.get("Product Type") or "", text))
    return sorted(set(sentences)), narratives


def typo(rng: random.Random, text: str, edits: int) -> str:
    chars = list(text)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    for _ in range(edits):  # typos in words: a changed digit is a changed fact, not a typo
        i = letters[rng.randrange(len(letters))] if letters else rng.randrange(len(chars))
        i = min(i, len(chars) - 1)
        op = rng.choice(("drop", "swap", "dup"))
        if op == "drop":
            del chars[i]
        elif op == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def build(seed: int, groups: int, data: Path) -> tuple[list[Mention], dict[str, int], list[tuple[str, str]]]:
    """Mentions, their true cluster (same number = copies), and the hard-negative pairs."""
    rng = random.Random(seed)
    sentences, narratives = load_texts(data)
    rng.shuffle(sentences)
    rng.shuffle(narratives)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    mentions: list[Mention] = []
    truth: dict[str, int] = {}
    cluster = 0

    def add(text: str, source: str) -> Mention:
        n = len(mentions)
        m = Mention(
            source=source,
            source_kind="news",
            url=f"https://{source}.example/{n}",
            text=text,
            published=t0 + timedelta(minutes=rng.randrange(60 * 24 * 7)),
        )
        mentions.append(m)
        truth[m.id] = cluster
        return m

    per_kind = groups // 3
    used_narr = 0
    for _ in range(per_kind):  # syndicated
        _, text = narratives[used_narr]
        used_narr += 1
        add(text, "wire")
        for j in range(rng.randint(1, 4)):
            copy = f"{rng.choice(BOILERPLATE_BEFORE)} {text} {rng.choice(BOILERPLATE_AFTER)}".strip()
            if rng.random() < 0.3:
                copy = copy.upper()
            if rng.random() < 0.5:
                copy = copy.replace(", ", " , ").replace(".", "!")
            add(copy, f"site{j}")
        cluster += 1
    used_sent = 0
    for _ in range(per_kind):  # bot spam
        text = sentences[used_sent]
        used_sent += 1
        price = (
            f"only ${rng.randint(5, 99)}.{rng.randint(0, 99):02d}"  # one offer: the same price in every copy
        )
        for j in range(rng.randint(2, 6)):
            parts = [f"@{rng.choice(['deals', 'promo', 'shop'])}{rng.randrange(999)}", text]
            parts.append(f"{price} {rng.choice(['🔥', '!!!', '👉', ''])}")
            parts.append(
                f"https://bit.example/{rng.getrandbits(32):x} #{rng.choice(['deal', 'sale', 'ad'])}{rng.randrange(50)}"
            )
            add(" ".join(parts), f"bot{j}")
        cluster += 1
    for _ in range(groups - 2 * per_kind):  # edited copies
        _, text = narratives[used_narr]
        used_narr += 1
        add(text, "forum")
        for j in range(rng.randint(1, 3)):
            add(typo(rng, text, rng.randint(1, 4)), f"mirror{j}")
        cluster += 1
    negatives: list[tuple[str, str]] = []
    rest = sentences[used_sent:]
    swappable = [s for s in rest if any(w.lower() in SWAPS for w in re.findall(r"\w+", s))][:groups]
    background = [s for s in rest if s not in set(swappable)][:2000]
    for text in swappable:  # one opinion word swapped: different meaning, must stay apart
        a = add(text, "reviews-a")
        cluster += 1
        swapped = re.sub(r"\w+", lambda w: SWAPS.get(w.group().lower(), w.group()), text, count=0)
        b = add(swapped, "reviews-b")
        cluster += 1
        negatives.append((a.id, b.id))
    by_type: dict[str, list[str]] = defaultdict(list)
    for product, text in narratives[used_narr:]:
        by_type[product].append(text)
    for texts in list(by_type.values())[:groups]:  # same product type, different incidents
        if len(texts) >= 2:
            a = add(texts[0], "cpsc-a")
            cluster += 1
            b = add(texts[1], "cpsc-b")
            cluster += 1
            negatives.append((a.id, b.id))
    for text in background:  # distinct background mentions
        add(text, "background")
        cluster += 1
    return mentions, truth, negatives


def pairs_of(assignment: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for mid, group in assignment.items():
        groups[group].append(mid)
    return {tuple(sorted(p)) for members in groups.values() for p in combinations(members, 2)}  # type: ignore[misc]


def score(
    predicted: dict[str, str], truth: dict[str, int], negatives: list[tuple[str, str]]
) -> tuple[float, float, int]:
    true_pairs = pairs_of({k: str(v) for k, v in truth.items()})
    got = pairs_of(predicted)
    tp = len(true_pairs & got)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    merged_negatives = sum(predicted[a] == predicted[b] for a, b in negatives)
    return precision, recall, merged_negatives


def run_minhash(mentions: list[Mention], *, facts_count: bool = True) -> tuple[dict[str, str], float]:
    start = time.perf_counter()
    dedup = Deduplicator(facts_count=facts_count)
    dedup.dedup(mentions)
    seconds = time.perf_counter() - start
    # representative_of, not raw["duplicate_ids"]: that list stops at 20 copies, and a mention
    # absorbed into a large cluster would count as kept
    return {m.id: dedup.representative_of(m.id) for m in mentions}, seconds


def run_exact_baseline(mentions: list[Mention]) -> tuple[dict[str, str], float]:
    start = time.perf_counter()
    first: dict[str, str] = {}
    assignment = {}
    for m in sorted(mentions, key=lambda m: (m.published, m.id)):
        key = normalise_for_dedup(m.text)
        assignment[m.id] = first.setdefault(key, m.id)
    return assignment, time.perf_counter() - start


def run_exact_text(mentions: list[Mention]) -> tuple[dict[str, str], float]:
    """Exact match of the text with case, punctuation, links, handles and emoji ignored (digits kept)."""
    start = time.perf_counter()
    first: dict[str, str] = {}
    assignment = {}
    for m in sorted(mentions, key=lambda m: (m.published, m.id)):
        key = " ".join(re.findall(r"[^\W_]+", re.sub(r"(?:https?://|www\.)\S+|[@#]\w+", " ", m.text.lower())))
        assignment[m.id] = first.setdefault(key, m.id)
    return assignment, time.perf_counter() - start


def templated_scores(cases: list[DedupCase], assignment: dict[str, str]) -> tuple[float, float, int]:
    """(distinct kept, copies collapsed, wrong merges) of one assignment id -> representative."""
    clusters_of: dict[str, set[int]] = defaultdict(set)
    for case in cases:
        clusters_of[assignment[case.mention.id]].add(case.cluster)
    distinct = [c for c in cases if not c.copy_group]
    kept = sum(len(clusters_of[assignment[c.mention.id]]) == 1 for c in distinct)
    groups: dict[int, list[str]] = defaultdict(list)
    for case in cases:
        if case.copy_group:
            groups[case.cluster].append(assignment[case.mention.id])
    copies = sum(len(reps) - 1 for reps in groups.values())
    collapsed = sum(max(reps.count(r) for r in set(reps)) - 1 for reps in groups.values())
    wrong = sum(len(found) - 1 for found in clusters_of.values())
    return kept / len(distinct), collapsed / copies if copies else 1.0, wrong


def templated_table(seeds: list[int]) -> None:
    print(f"\ntemplated-but-distinct documents and true copies (crawlers.dedup_cases), seeds {seeds}")
    print(
        f"{'method':34} {'seed':>5} {'docs':>5} {'distinct kept':>13} {'copies collapsed':>16} {'wrong merges':>12}"
    )
    for seed in seeds:
        cases = build_cases(seed)
        mentions = [c.mention for c in cases]
        n_distinct = sum(not c.copy_group for c in cases)
        n_copies = sum(c.copy_group for c in cases) - len({c.cluster for c in cases if c.copy_group})
        rows = [
            ("minhash + fact guard (current)", run_minhash(mentions)[0]),
            ("earlier setting (digits masked)", run_minhash(mentions, facts_count=False)[0]),
            ("exact match (digits kept)", run_exact_text(mentions)[0]),
        ]
        for name, assignment in rows:
            kept, collapsed, wrong = templated_scores(cases, assignment)
            print(f"{name:34} {seed:>5} {len(cases):>5} {kept:13.3f} {collapsed:16.3f} {wrong:>12}")
        print(f"{'':34} {'':>5} {'':>5} {f'of {n_distinct}':>13} {f'of {n_copies}':>16}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--groups", type=int, default=150, help="planted copy groups (a third of each kind)")
    parser.add_argument(
        "--show-errors", action="store_true", help="print the hard negatives that were merged"
    )
    parser.add_argument(
        "--templated-seeds", type=int, nargs="*", default=[101, 102, 103],
        help="seeds of the templated-but-distinct set (crawlers.dedup_cases)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.templated_seeds:
        templated_table(args.templated_seeds)
    data = shared_data_dir()
    if not (data / "reviews").is_dir() or not (data / "safety").is_dir():
        print(f"skipped: reference data not found under {data} (needs reviews/ and safety/)")
        return 0
    mentions, truth, negatives = build(args.seed, args.groups, data)
    sizes: dict[int, int] = defaultdict(int)
    for c in truth.values():
        sizes[c] += 1
    planted = sum(n - 1 for n in sizes.values() if n > 1)
    print(f"data: {len(mentions)} mentions, {sum(1 for n in sizes.values() if n > 1)} planted groups with {planted} copies, "
          f"{len(negatives)} hard-negative pairs (seed {args.seed})")  # fmt: skip
    minhash, seconds = run_minhash(mentions)  # timed without tracing (tracemalloc slows numpy down)
    tracemalloc.start()
    run_minhash(mentions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    baseline, base_seconds = run_exact_baseline(mentions)
    earlier, earlier_seconds = run_minhash(mentions, facts_count=False)
    rows = [
        ("minhash-lsh (crawlers.dedup)", minhash, seconds),
        ("earlier setting (digits masked)", earlier, earlier_seconds),
        ("baseline: exact normalised text", baseline, base_seconds),
    ]
    print(f"{'method':34} {'precision':>9} {'recall':>7} {'neg merged':>10} {'mentions/s':>11}")
    results = {}
    for name, assignment, secs in rows:
        p, r, neg = score(assignment, truth, negatives)
        results[name] = (p, r)
        print(f"{name:34} {p:9.3f} {r:7.3f} {neg:>4}/{len(negatives):<5} {len(mentions) / secs:11.0f}")
    print(f"peak traced memory during minhash dedup: {peak / 2**20:.1f} MiB")
    if "--show-errors" in sys.argv:
        for a, b in negatives:
            if minhash[a] == minhash[b]:
                ta = next(m.text for m in mentions if m.id == a)
                tb = next(m.text for m in mentions if m.id == b)
                print("NEG MERGED:\n  ", ta[:300], "\n  ", tb[:300])
        text_of = {m.id: m.text for m in mentions}
        missed = [
            (a, b) for a, b in pairs_of({k: str(v) for k, v in truth.items()}) if minhash[a] != minhash[b]
        ]
        for a, b in missed[:15]:
            print("MISSED:\n  ", text_of[a][:200], "\n  ", text_of[b][:200])
    p, r = results[rows[0][0]]
    if p < FLOOR_PRECISION or r < FLOOR_RECALL:
        print(f"FAIL: below the floor (precision {FLOOR_PRECISION}, recall {FLOOR_RECALL})")
        return 1
    print(f"ok: above the floor (precision {FLOOR_PRECISION}, recall {FLOOR_RECALL})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
