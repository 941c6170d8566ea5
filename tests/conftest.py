"""Suite-wide fixtures: the staged data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from irrobust import paths


@pytest.fixture(scope="session")
def seed() -> Path:
    """The staged data directory (tests need the real collections)."""
    s = paths.seed_dir()
    if s is None:
        pytest.skip("no staged data directory (set IRROBUST_SEED_DIR)")
    return s
