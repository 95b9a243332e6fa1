"""Shared fixtures: the real data in ../shared (skipped with a reason when absent) and small images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EXPOSUREKIT_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_WEIGHTS = SHARED / "weights"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; the test is skipped when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (set EXPOSUREKIT_SHARED)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_weights() -> Path:
    """``../shared/weights``; the test is skipped when it is not there."""
    if not SHARED_WEIGHTS.is_dir():
        pytest.skip(f"shared weights not present at {SHARED_WEIGHTS}")
    return SHARED_WEIGHTS
