"""Change-point evaluation exactly as TCPDBench defines it (van den Burg & Williams, 2020).

F1 with a margin (index 0 always counted as a change point; precision against the union of the
annotators' change points, recall averaged over annotators) and segmentation cover (each
annotator's partition covered by the predicted one, averaged over annotators). Also the loader
for the TCPD series shipped under `../shared/data/tcpd/`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def true_positives(truth: Iterable[int], predicted: Iterable[int], margin: int = 5) -> set[int]:
    """True change points in `truth` matched one-to-one to a prediction within `margin`."""
    candidates = set(predicted)
    matched: set[int] = set()
    for tau in sorted(set(truth)):
        close = sorted((abs(tau - x), x) for x in candidates if abs(tau - x) <= margin)
        if not close:
            continue
        matched.add(tau)
        candidates.remove(close[0][1])
    return matched


def f_measure(
    annotations: Mapping[str, Sequence[int]], predictions: Sequence[int], margin: int = 5, alpha: float = 0.5
) -> tuple[float, float, float]:
    """(F, precision, recall) as TCPDBench's `f_measure`."""
    per_annotator = [{*cps, 0} for cps in annotations.values()]
    if not per_annotator:
        raise ValueError("f_measure needs at least one annotator")
    predicted = {*predictions, 0}
    union = set().union(*per_annotator)
    precision = len(true_positives(union, predicted, margin)) / len(predicted)
    recall = sum(len(true_positives(t, predicted, margin)) / len(t) for t in per_annotator) / len(
        per_annotator
    )
    if precision == 0 and recall == 0:
        return 0.0, precision, recall
    f = precision * recall / (alpha * recall + (1 - alpha) * precision)
    return f, precision, recall


def partition_from_cps(locations: Iterable[int], n_obs: int) -> list[set[int]]:
    """Segments (sets of indices) of 0..n_obs-1 cut at the given change points."""
    partition: list[set[int]] = []
    current: set[int] = set()
    cps = iter(sorted(set(locations)))
    cp = next(cps, None)
    for i in range(n_obs):
        if i == cp:
            if current:
                partition.append(current)
            current = set()
            cp = next(cps, None)
        current.add(i)
    partition.append(current)
    return partition


def _cover_single(predicted: list[set[int]], truth: list[set[int]]) -> float:
    total = sum(map(len, predicted))
    cover = 0.0
    for r in truth:
        cover += len(r) * max(len(r & rp) / len(r | rp) for rp in predicted)
    return cover / total


def covering(annotations: Mapping[str, Sequence[int]], predictions: Sequence[int], n_obs: int) -> float:
    """Segmentation cover of the predictions, averaged over annotators (TCPDBench `covering`)."""
    predicted = partition_from_cps(predictions, n_obs)
    covers = [_cover_single(predicted, partition_from_cps(cps, n_obs)) for cps in annotations.values()]
    return sum(covers) / len(covers)


@dataclass(frozen=True)
class TcpdSeries:
    name: str
    values: np.ndarray  # shape (n_obs, n_dim)
    annotations: dict[str, list[int]]

    @property
    def n_obs(self) -> int:
        return int(self.values.shape[0])


def load_tcpd(root: str | Path) -> list[TcpdSeries]:
    """All series of a TCPD folder (`datasets/*.json` + `annotations.json`), sorted by name."""
    root = Path(root)
    ann_path = root / "annotations.json"
    if not ann_path.is_file():
        raise FileNotFoundError(f"no TCPD annotations at {ann_path}")
    annotations = json.loads(ann_path.read_text())
    out = []
    for path in sorted((root / "datasets").glob("*.json")):
        doc = json.loads(path.read_text())
        columns = [
            np.array([np.nan if v is None else v for v in s["raw"]], dtype=float) for s in doc["series"]
        ]
        values = np.column_stack(columns)
        if doc["name"] not in annotations:
            raise KeyError(f"series {doc['name']!r} has no annotations in {ann_path}")
        out.append(TcpdSeries(name=doc["name"], values=values, annotations=annotations[doc["name"]]))
    return out
