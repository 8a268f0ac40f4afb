"""Shared test set-up: offline model loading, and the reference data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

from groundswell.paths import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that need it are skipped with a message when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set GROUNDSWELL_SHARED_DATA)")
    return path
