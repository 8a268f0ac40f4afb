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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trends.changepoint import ChangePointDetector, NoChange, RupturesDetector  # noqa: E402
from trends.evaluation import covering, f_measure, load_tcpd  # noqa: E402

FLOOR_F1 = 0.75  # pinned: below this the gate fails
FLOOR_COVER = 0.72
PUBLISHED = {
    "binseg": (0.698, 0.672),
    "pelt": (0.674, 0.652),
    "bocpd": (0.662, 0.594),
    "zero": (0.645, 0.566),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tcpd"))
    parser.add_argument("--per-series", action="store_true", help="print every series' scores")
    args = parser.parse_args()
    data_dir = Path(args.data)
    if not (data_dir / "annotations.json").is_file():
        print(f"SKIP: TCPD data not found at {data_dir} (see ../shared/data/README.md)")
        return 0
    series = load_tcpd(data_dir)
    methods = [
        ChangePointDetector(),
        RupturesDetector(algorithm="binseg"),
        RupturesDetector(algorithm="pelt"),
        NoChange(),
    ]
    results: dict[str, tuple[float, float, float]] = {}
    for method in methods:
        f1s, covers = [], []
        t0 = time.perf_counter()
        for s in series:
            cps = method.fit(s.values).predict()
            f1s.append(f_measure(s.annotations, cps, margin=5)[0])
            covers.append(covering(s.annotations, cps, s.n_obs))
            if args.per_series:
                print(
                    f"  {method.name:18s} {s.name:20s} n={s.n_obs:4d} cps={cps} F1={f1s[-1]:.3f} cover={covers[-1]:.3f}"
                )
        results[method.name] = (float(np.mean(f1s)), float(np.mean(covers)), time.perf_counter() - t0)
    print(f"TCPD: {len(series)} annotated series from {data_dir}")
    print(f"{'method':20s} {'F1':>6s} {'cover':>6s} {'seconds':>8s}")
    for name, (f1, cover, secs) in results.items():
        print(f"{name:20s} {f1:6.3f} {cover:6.3f} {secs:8.2f}")
    print("sensitivity of the detector's method (penalty x alpha), F1/cover:")
    for penalty in (2.0, 3.0, 5.0):
        row = []
        for alpha in (0.001, 0.01, 0.05, None):
            det = ChangePointDetector(penalty=penalty, alpha=alpha)
            cps_all = [det.fit(s.values).predict() for s in series]
            f1 = np.mean([f_measure(s.annotations, c)[0] for s, c in zip(series, cps_all, strict=True)])
            cov = np.mean([covering(s.annotations, c, s.n_obs) for s, c in zip(series, cps_all, strict=True)])
            row.append(f"alpha={alpha}: {f1:.3f}/{cov:.3f}")
        print(f"  penalty={penalty}: " + "  ".join(row))
    print(
        "published defaults (TCPDBench, all 37 series): "
        + ", ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in PUBLISHED.items())
    )
    ours = results[ChangePointDetector.name]
    baselines = {k: v for k, v in results.items() if k != ChangePointDetector.name}
    ok = ours[0] >= FLOOR_F1 and ours[1] >= FLOOR_COVER
    ok = ok and all(ours[0] > v[0] and ours[1] > v[1] for v in baselines.values())
    print(
        f"gate: F1 >= {FLOOR_F1}, cover >= {FLOOR_COVER} and above every baseline run here: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
