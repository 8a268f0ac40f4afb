"""Where the project finds things outside the package: the shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """`../shared/data` beside the repository, or GROUNDSWELL_SHARED_DATA when set.

    Tests and benchmarks read the reference data in place and skip with a message when absent.
    """
    env = os.environ.get("GROUNDSWELL_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"
