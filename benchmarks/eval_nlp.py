"""NLP quality gate: prints scores beside baselines and exits non-zero below the pinned floors.

    .venv/bin/python benchmarks/eval_nlp.py [--quick] [-c groundswell.yaml]

Floors and splits are documented in `nlp/evaluation.py`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sample the larger sets (faster, noisier)")
    parser.add_argument("-c", "--config", type=Path, default=None, help="configuration YAML (model choice)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from nlp.evaluation import run_gate

    config = None
    if args.config:
        from groundswell.config import load_config

        config = load_config(args.config)
    return run_gate(config=config, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
