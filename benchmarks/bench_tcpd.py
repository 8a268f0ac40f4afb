"""TCPD benchmark: F1 (margin 5) and segmentation cover as TCPDBench defines them.

Runs, side by side on the annotated series of `../shared/data/tcpd/`:
- `groundswell-pelt`: the detector's change-point method (`trends.changepoint.ChangePointDetector`,
  one global setting: exact penalised segmentation with the MBIC-like penalty 3 * log(n) * dims
  on the z-scored series, min segment 5, then each change point kept only if an
  autocorrelation-aware t-test finds its two segments different at family-wise 0.01);
- `ruptures-binseg` and `ruptures-pelt`: ruptures with its default cost (l2), min_size and jump,
  and the MBIC-like penalty 3 * log(n) * dims that TCPDBench's default experiment uses;
- `zero`: no change point at all.

Prints per-series and mean scores, the published defaults for reference, and exits 1 when the
detector falls below the pinned floor or below any baseline run here.

    .venv/bin/python benchmarks/bench_tcpd.py [--data ../shared/data/tcpd] [--per-series]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trends.changepoint import ChangePointDetector, NoChange, RupturesDetector  # noqa: E402
from trends.evaluation import TcpdSeries, covering, f_measure, load_tcpd  # noqa: E402

FLOOR_F1 = 0.75  # pinned: below this the gate fails
FLOOR_COVER = 0.72
PUBLISHED = {
    "binseg": (0.698, 0.672),
    "pelt": (0.674, 0.652),
    "bocpd": (0.662, 0.594),
    "zero": (0.645, 0.566),
}


GRID = [
    {"penalty": p, "alpha": a, "trend": tr}
    for p in (2.0, 3.0, 5.0, 8.0)
    for a in (0.001, 0.01, 0.05, None)
    for tr in (False, True)
]
RUPTURES_PENALTIES = (1.0, 2.0, 3.0, 5.0, 10.0)


def _scores(method: Any, series: list[TcpdSeries]) -> np.ndarray:
    """(series, 2): F1 (margin 5) and cover of one method on every series."""
    out = []
    for s in series:
        cps = method.fit(s.values).predict()
        out.append((f_measure(s.annotations, cps, margin=5)[0], covering(s.annotations, cps, s.n_obs)))
    return np.array(out)


def leave_one_out(table: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Held-out scores: for each series, the setting best on the others ((F1 + cover) / 2) scores it.

    `table` is (settings, series, 2). Returns the (series, 2) held-out scores and the chosen settings.
    """
    n_series = table.shape[1]
    held, chosen = [], []
    for i in range(n_series):
        others = np.delete(table, i, axis=1).mean(axis=(1, 2))
        best = int(np.argmax(others))  # first (simplest in grid order) on ties
        held.append(table[best, i])
        chosen.append(best)
    return np.array(held), chosen


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tcpd"))
    parser.add_argument("--per-series", action="store_true", help="print every series' held-out scores")
    args = parser.parse_args()
    data_dir = Path(args.data)
    if not (data_dir / "annotations.json").is_file():
        print(f"SKIP: TCPD data not found at {data_dir} (see ../shared/data/README.md)")
        return 0
    series = load_tcpd(data_dir)
    t0 = time.perf_counter()
    ours = np.stack([_scores(ChangePointDetector(**g), series) for g in GRID])
    ours_held, ours_chosen = leave_one_out(ours)
    rupt: dict[str, np.ndarray] = {}
    for algorithm in ("binseg", "pelt"):
        table = np.stack(
            [_scores(RupturesDetector(algorithm=algorithm, penalty=p), series) for p in RUPTURES_PENALTIES]
        )  # type: ignore[arg-type]
        rupt[algorithm] = table
    zero = _scores(NoChange(), series)
    seconds = time.perf_counter() - t0
    default = GRID.index({"penalty": 3.0, "alpha": 0.01, "trend": False})
    rows: list[tuple[str, np.ndarray]] = [("groundswell (LOO-tuned)", ours_held)]
    for algorithm, table in rupt.items():
        held, _ = leave_one_out(table)
        rows.append((f"ruptures-{algorithm} (LOO-tuned pen)", held))
        rows.append((f"ruptures-{algorithm} (default pen 3)", table[RUPTURES_PENALTIES.index(3.0)]))
    rows.append(("zero (no change)", zero))
    print(
        f"TCPD: {len(series)} annotated series from {data_dir}; {len(GRID)} settings, leave-one-out ({seconds:.1f} s)"
    )
    print(f"{'method (held-out series scores)':38s} {'F1':>6s} {'cover':>6s}")
    for name, scores in rows:
        print(f"{name:38s} {scores[:, 0].mean():6.3f} {scores[:, 1].mean():6.3f}")
    chosen = Counter(str(GRID[c]) for c in ours_chosen)
    print(
        "settings chosen on the 15 training series, per fold: "
        + "; ".join(f"{k} x{v}" for k, v in chosen.most_common())
    )
    best_in = int(np.argmax(ours.mean(axis=(1, 2))))
    print(
        f"in-sample (tuned and scored on all {len(series)}; NOT a result): best {GRID[best_in]} "
        f"{ours[best_in, :, 0].mean():.3f}/{ours[best_in, :, 1].mean():.3f}; "
        f"the old default {GRID[default]} {ours[default, :, 0].mean():.3f}/{ours[default, :, 1].mean():.3f}"
    )
    if args.per_series:
        for s, (f1, cover), c in zip(series, ours_held, ours_chosen, strict=True):
            print(f"  {s.name:20s} n={s.n_obs:4d} held-out F1={f1:.3f} cover={cover:.3f} with {GRID[c]}")
    print(
        "published defaults (TCPDBench, all 37 series): "
        + ", ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in PUBLISHED.items())
    )
    f1, cover = ours_held[:, 0].mean(), ours_held[:, 1].mean()
    ok = f1 >= FLOOR_F1 and cover >= FLOOR_COVER and f1 > zero[:, 0].mean() and cover > zero[:, 1].mean()
    print(
        f"gate: held-out F1 >= {FLOOR_F1}, cover >= {FLOOR_COVER} and above 'no change': {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
