"""Readers for the reference data in `../shared/data/` (read in place, never copied into the repo).

Every reader raises `DataMissing` (a FileNotFoundError) naming the path when the data is absent,
so tests and the gate can skip with a clear message.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from groundswell.paths import shared_data_dir

SHARED_DATA = shared_data_dir()
EVAL_DATA = Path(__file__).resolve().parent / "eval_data"


class DataMissing(FileNotFoundError):
    """A reference data file is not present."""


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataMissing(f"reference data not found: {path} (see ../shared/data/README.md)")
    return path


def held_out(text: str) -> bool:
    """Deterministic 50/50 split by content: True for the held-out half, never used to develop rules."""
    return int(hashlib.sha1(text.encode("utf-8", "replace")).hexdigest(), 16) % 2 == 1


@dataclass(frozen=True)
class Narrative:
    source: str  # cpsc_toys / cpsc_artsandcrafts / nhtsa
    text: str
    severity: str  # CPSC victim severity or NHTSA injury/fire flags
    product_type: str = ""  # CPSC "Product Type" (e.g. "Toy Vehicles ..."); NHTSA: the component


def safety_narratives(root: Path = SHARED_DATA) -> list[Narrative]:
    """Every CPSC incident description and NHTSA complaint narrative (each one is a safety incident)."""
    out: list[Narrative] = []
    for name in ("cpsc_toys_incidents.csv", "cpsc_artsandcrafts_incidents.csv"):
        raw = _need(root / "safety" / name).read_text(encoding="utf-8", errors="replace")
        # a title and/or disclaimer line come before the header ("Report No.,Report Date,...")
        header = raw.find("Report No.,")
        if header < 0:
            raise ValueError(f"{root / 'safety' / name}: no 'Report No.' header line found")
        body = raw[header:]
        for row in csv.DictReader(io.StringIO(body)):
            text = (row.get("Incident Description") or "").strip()
            if text:
                out.append(
                    Narrative(
                        name.split("_incidents")[0],
                        text,
                        row.get("(Primary) Victim Severity") or "",
                        row.get("Product Type") or "",
                    )
                )
    for line in (
        _need(root / "safety" / "nhtsa_complaints_sample.tsv")
        .read_text(encoding="utf-8", errors="replace")
        .splitlines()
    ):
        cols = line.split("\t")
        if len(cols) > 19 and cols[19].strip():
            # NHTSA flat-file columns: 6 CRASH, 7 FAILDATE, 8 FIRE, 9 INJURED, 10 DEATHS, 11 COMPDESC
            injured = cols[9].strip() not in ("", "0") or cols[10].strip() not in ("", "0")
            fire = cols[8].strip() == "Y"
            out.append(
                Narrative("nhtsa", cols[19].strip(), f"injured={injured} fire={fire}", cols[11].strip())
            )
    return out


@dataclass(frozen=True)
class Sentence:
    source: str  # amazon / yelp / imdb
    line: int
    text: str
    label: int  # 0 negative, 1 positive


def review_sentences(root: Path = SHARED_DATA) -> list[Sentence]:
    out: list[Sentence] = []
    for name in ("amazon_cells", "yelp", "imdb"):
        path = _need(root / "reviews" / f"{name}_labelled.txt")
        for lineno, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        ):
            if "\t" not in line:
                continue
            text, label = line.rsplit("\t", 1)
            if label.strip() in ("0", "1"):
                out.append(Sentence(name.split("_")[0], lineno, text.strip(), int(label)))
    return out


def tweeteval(task: str, split: str, root: Path = SHARED_DATA) -> tuple[list[str], list[int]]:
    directory = root / "tweeteval" / task
    texts = _need(directory / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(v) for v in _need(directory / f"{split}_labels.txt").read_text().split()]
    return texts, labels


@dataclass(frozen=True)
class VocExample:
    text: str
    voc_kind: str
    business_area: str | None
    where: str


def voc_area_set(root: Path = SHARED_DATA, labels: Path = EVAL_DATA / "voc_area.tsv") -> list[VocExample]:
    """The hand-labelled VoC kind / business area set: labels in the repo, texts read from shared data."""
    cache: dict[str, list[str]] = {}
    out: list[VocExample] = []
    for row in labels.read_text().splitlines():
        if not row or row.startswith("#"):
            continue
        rel, line, digest, kind, area = row.split("\t")
        if rel not in cache:
            cache[rel] = _need(root / rel).read_text(encoding="utf-8").splitlines()
        text = cache[rel][int(line) - 1]
        if rel.startswith("reviews/"):
            text = text.rsplit("\t", 1)[0]
        if hashlib.sha1(text.encode()).hexdigest()[:8] != digest:
            raise ValueError(
                f"{labels}: {rel}:{line} no longer holds the labelled text (sha1 prefix {digest})"
            )
        out.append(VocExample(text=text, voc_kind=kind, business_area=area or None, where=f"{rel}:{line}"))
    return out
