"""Build the demo market and serve it until interrupted (for `examples/groundswell.yaml`).

python -m groundswell.app.demo --out demo-web --port 8765 [--seed 7] [--weeks 9] [--end 2026-11-22]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from groundswell.app.demo import build_market, serve_market


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m groundswell.app.demo", description="Build the demo market and serve it on loopback."
    )
    parser.add_argument("--out", type=Path, default=Path("demo-web"), help="folder for the generated site")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=9)
    parser.add_argument(
        "--end", type=date.fromisoformat, default=None, help="last day (default: last Sunday)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    today = datetime.now(UTC).date()
    end = args.end or today - timedelta(days=today.weekday() + 1)
    truth = build_market(args.out, seed=args.seed, end=end, weeks=args.weeks)
    with serve_market(args.out, port=args.port) as base_url:
        print(
            f"demo market ({truth.total_items} items, {truth.start}..{truth.end}) served at {base_url}; Ctrl-C to stop",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
